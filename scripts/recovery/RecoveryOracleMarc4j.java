// The records marc4j 2.9's MarcPermissiveStreamReader (permissive, converting to UTF-8)
// recovers from each corpus file. Arguments: NAME PATH pairs. Prints one Erlang term per
// file, {Name, marc4j, [Record]}., in the shape recovery_oracle_pymarc.py prints.
// Compiled and run by scripts/gen_recovery_fixtures.sh.

import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.marc4j.MarcPermissiveStreamReader;
import org.marc4j.marc.ControlField;
import org.marc4j.marc.DataField;
import org.marc4j.marc.Record;
import org.marc4j.marc.Subfield;
import org.marc4j.marc.VariableField;

public class RecoveryOracleMarc4j {
    static String binary(String s) {
        byte[] bytes = (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
        // Printable ASCII as it is, every other byte as \x{HH}: an ASCII file, quick to read.
        StringBuilder b = new StringBuilder("<<\"");
        for (byte raw : bytes) {
            int c = raw & 0xFF;
            if (c == '"' || c == '\\') b.append('\\').append((char) c);
            else if (c >= 0x20 && c < 0x7F) b.append((char) c);
            else b.append(String.format("\\x{%02X}", c));
        }
        return b.append("\">>").toString();
    }

    static String field(VariableField f) {
        if (f instanceof ControlField) {
            ControlField c = (ControlField) f;
            return "{" + binary(c.getTag()) + "," + binary(c.getData()) + "}";
        }
        DataField d = (DataField) f;
        List<String> subs = new ArrayList<>();
        for (Subfield s : d.getSubfields()) {
            subs.add("{" + binary(String.valueOf(s.getCode())) + "," + binary(s.getData()) + "}");
        }
        return "{" + binary(d.getTag()) + "," + binary(String.valueOf(d.getIndicator1())) + ","
            + binary(String.valueOf(d.getIndicator2())) + ",[" + String.join(",", subs) + "]}";
    }

    public static void main(String[] args) throws Exception {
        for (int i = 0; i + 1 < args.length; i += 2) {
            List<String> records = new ArrayList<>();
            try (InputStream in = new FileInputStream(args[i + 1])) {
                MarcPermissiveStreamReader reader = new MarcPermissiveStreamReader(in, true, true);
                // marc4j goes on after a record it cannot recover; bounded, in case it does not
                // move past it.
                for (int failures = 0; failures < 1000; ) {
                    Record r;
                    try {
                        if (!reader.hasNext()) break;
                        r = reader.next();
                    } catch (Exception e) {
                        failures++;
                        continue;
                    }
                    if (r == null) continue;
                    List<String> fields = new ArrayList<>();
                    for (VariableField f : r.getVariableFields()) fields.add(field(f));
                    records.add("[" + String.join(",", fields) + "]");
                }
            }
            System.out.println("{" + binary(args[i]) + ",marc4j,[" + String.join(",\n ", records) + "]}.");
        }
    }
}
