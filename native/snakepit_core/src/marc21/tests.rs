use super::*;

const MATERIALS: [MaterialType; 7] = [
    MaterialType::Books,
    MaterialType::ContinuingResources,
    MaterialType::Maps,
    MaterialType::Music,
    MaterialType::VisualMaterials,
    MaterialType::ComputerFiles,
    MaterialType::MixedMaterials,
];

#[test]
fn fields_are_sorted_and_found_by_tag() {
    let all = fields();
    assert!(all.len() > 200, "{} fields", all.len());
    assert!(all.windows(2).all(|w| w[0].tag < w[1].tag));
    for f in all {
        assert_eq!(field(f.tag).map(|g| g.tag), Some(f.tag));
        assert_eq!(f.is_control(), f.subfields.is_empty(), "{}", f.tag);
        if f.is_control() {
            assert!(f.indicators.iter().all(Option::is_none), "{}", f.tag);
        }
    }
    assert!(field("999").is_none() && field("LDR").is_none() && field("24").is_none());
    assert!(field(b"001").unwrap().is_control());
    assert!(field("650").unwrap().repeatable);
}

#[test]
fn indicators_expand_ranges_and_know_undefined_ones() {
    let title = field("245").unwrap();
    let nonfiling = title.indicator(2).unwrap();
    assert_eq!(nonfiling.label, "Nonfiling characters");
    for d in b'0'..=b'9' {
        assert!(nonfiling.lookup(d).is_some(), "245 ind2 {}", d as char);
    }
    assert!(nonfiling.lookup(b' ').is_none());
    assert!(title.indicator(3).is_none() && title.indicator(0).is_none());
    // 100's second indicator is undefined.
    let name = field("100").unwrap();
    assert!(name.indicator(2).is_none());
    assert_eq!(
        name.indicator(1).unwrap().lookup(b'1').unwrap().label,
        "Surname"
    );
    assert!(name.indicator(1).unwrap().lookup(b'2').is_none());
}

#[test]
fn subfields_carry_repeatability_obsolescence_and_code_lists() {
    let title = field("245").unwrap();
    assert!(!title.subfield(b'a').unwrap().repeatable);
    assert!(title.subfield(b'p').unwrap().repeatable);
    let obsolete = title.subfield(b'd').unwrap();
    assert!(obsolete.obsolete && !obsolete.repeatable);
    assert!(title.subfield(b'z').is_none());
    let lang = field("041").unwrap().subfield(b'a').unwrap();
    assert_eq!(lang.codelist().unwrap().id, "languages");
    // Every list a subfield names exists.
    for f in fields() {
        for s in f.subfields {
            if let Some(id) = s.codelist {
                assert!(
                    codelist(id).is_some(),
                    "{} ${}: {id}",
                    f.tag,
                    s.code as char
                );
            }
        }
    }
}

#[test]
fn leader_positions_have_codes_and_labels() {
    let l = leader();
    assert_eq!((l.tag, l.length), ("LDR", 24));
    assert_eq!(l.positions.first().map(|p| p.start), Some(0));
    assert_eq!(l.positions.last().map(|p| p.end), Some(24));
    let labels: Vec<&str> = [5, 6, 7, 8, 9, 17, 18, 19]
        .iter()
        .map(|&s| l.position(s).unwrap().label)
        .collect();
    assert_eq!(
        labels,
        [
            "Record status",
            "Type of record",
            "Bibliographic level",
            "Type of control",
            "Character coding scheme",
            "Encoding level",
            "Descriptive cataloging form",
            "Multipart resource record level"
        ]
    );
    assert_eq!(
        l.position(9).unwrap().lookup(b"a").unwrap().label,
        "UCS/Unicode"
    );
    let historical = l.position(6).unwrap().lookup(b"b").unwrap();
    assert!(historical.obsolete);
}

fn assert_well_formed(layout: &Layout) {
    assert!(
        layout.positions.windows(2).all(|w| w[0].end <= w[1].start),
        "{} {} positions overlap",
        layout.tag,
        layout.type_name
    );
    assert!(layout
        .positions
        .iter()
        .all(|p| p.end <= layout.length && !p.is_empty()));
    for p in layout.positions {
        for c in p.codes {
            // A repeatable-content position has unit codes, and may have whole ones ("||").
            let unit = if p.repeatable_content {
                p.unit_length
            } else {
                p.len()
            };
            assert!(
                c.code.len() == unit || c.code.len() == p.len(),
                "{} {} {:?}",
                layout.tag,
                p.label,
                c
            );
        }
    }
}

#[test]
fn every_008_and_006_layout_is_whole_and_they_agree() {
    for m in MATERIALS {
        let l008 = layout_008(m);
        let l006 = layout_006(m);
        assert_eq!((l008.length, l006.length), (40, 18));
        assert_well_formed(l008);
        assert_well_formed(l006);
        for start in [0, 6, 7, 11, 15, 35, 38, 39] {
            assert!(l008.position(start).is_some(), "{m:?} 008/{start}");
        }
        assert_eq!(l006.position(0).unwrap().label, "Form of material");
        // 006/01-17 are 008/18-34 of the same material type.
        let own_008: Vec<_> = l008
            .positions
            .iter()
            .filter(|p| (18..35).contains(&p.start))
            .map(|p| (p.start - 17, p.end - 17, p.label))
            .collect();
        let own_006: Vec<_> = l006.positions[1..]
            .iter()
            .map(|p| (p.start, p.end, p.label))
            .collect();
        assert_eq!(own_008, own_006, "{m:?}");
    }
    let books = layout_008(MaterialType::Books);
    assert_eq!(books.position(33).unwrap().label, "Literary form");
    assert!(
        books.position(32).is_none(),
        "008/32 is undefined for books"
    );
    assert_eq!(books.position(24).unwrap().unit_length, 1);
    assert_eq!(
        layout_008(MaterialType::Maps).position(25).unwrap().label,
        "Type of cartographic material"
    );
}

#[test]
fn every_007_category_has_its_layout() {
    let categories: Vec<u8> = layouts_007().map(|(c, _)| c).collect();
    assert_eq!(categories, b"acdfghkmoqrstvz");
    for (c, l) in layouts_007() {
        assert_well_formed(l);
        assert_eq!(
            l.positions[0].label, "Category of material",
            "{}",
            c as char
        );
        assert!(l.positions[0].lookup(&[c]).is_some());
    }
    let map = layout_007(b'a').unwrap();
    assert_eq!((map.type_name, map.length), ("Map", 8));
    assert_eq!(layout_007(b'c').unwrap().length, 14);
    assert_eq!(layout_007(b'm').unwrap().length, 23);
    assert_eq!(layout_007(b't').unwrap().length, 2);
    assert!(layout_007(b'b').is_none());
}

#[test]
fn record_kinds_follow_leader_06_and_07() {
    let kind = |l06: u8, l07: u8| {
        let mut leader = *b"00000nam a2200000 a 4500";
        leader[6] = l06;
        leader[7] = l07;
        record_kind(&leader)
    };
    use MaterialType::*;
    let bib = RecordKind::Bibliographic;
    for (l06, l07, expected) in [
        (b'a', b'm', bib(Books)),
        (b'a', b'a', bib(Books)),
        (b'a', b'c', bib(Books)),
        (b'a', b'd', bib(Books)),
        (b'a', b's', bib(ContinuingResources)),
        (b'a', b'b', bib(ContinuingResources)),
        (b'a', b'i', bib(ContinuingResources)),
        (b't', b's', bib(Books)),
        (b'e', b'm', bib(Maps)),
        (b'f', b'm', bib(Maps)),
        (b'c', b'm', bib(Music)),
        (b'd', b'm', bib(Music)),
        (b'i', b'm', bib(Music)),
        (b'j', b'm', bib(Music)),
        (b'g', b'm', bib(VisualMaterials)),
        (b'k', b'm', bib(VisualMaterials)),
        (b'o', b'm', bib(VisualMaterials)),
        (b'r', b'm', bib(VisualMaterials)),
        (b'm', b'm', bib(ComputerFiles)),
        (b'p', b'c', bib(MixedMaterials)),
        (b'z', b' ', RecordKind::Authority),
        (b'u', b' ', RecordKind::Holdings),
        (b'v', b' ', RecordKind::Holdings),
        (b'x', b' ', RecordKind::Holdings),
        (b'y', b' ', RecordKind::Holdings),
        (b'w', b' ', RecordKind::Classification),
        (b'q', b' ', RecordKind::CommunityInformation),
        (b'b', b'm', RecordKind::Unknown),
        (b' ', b' ', RecordKind::Unknown),
    ] {
        assert_eq!(kind(l06, l07), expected, "{}{}", l06 as char, l07 as char);
    }
    assert_eq!(record_kind(b"0000000"), RecordKind::Unknown);
}

#[test]
fn form_006_picks_the_material_type() {
    use MaterialType::*;
    for (form, expected) in [
        (b'a', Some(Books)),
        (b't', Some(Books)),
        (b's', Some(ContinuingResources)),
        (b'e', Some(Maps)),
        (b'j', Some(Music)),
        (b'g', Some(VisualMaterials)),
        (b'm', Some(ComputerFiles)),
        (b'p', Some(MixedMaterials)),
        (b'b', None),
    ] {
        assert_eq!(material_type_006(form), expected, "{}", form as char);
    }
    // Every form of material 006/00 defines has a layout.
    for c in layout_006(Books).positions[0]
        .codes
        .iter()
        .filter(|c| !c.obsolete)
    {
        assert!(
            material_type_006(c.code.as_bytes()[0]).is_some(),
            "{}",
            c.code
        );
    }
}

#[test]
fn code_lists_resolve_current_before_obsolete() {
    assert_eq!(language("eng").unwrap().label, "English");
    let eskimo = language("esk").unwrap();
    assert!(eskimo.obsolete);
    assert!(language("xyz").is_none() && language("").is_none());
    // "ai" was Anguilla (obsolete), now Armenia.
    let ai = country("ai").unwrap();
    assert!(!ai.obsolete && ai.label.starts_with("Armenia"), "{ai:?}");
    assert_eq!(country("fr ").unwrap().label, "France");
    assert_eq!(country("xxu").unwrap().label, "United States");
    assert_eq!(geographic_area("n-us---").unwrap().label, "United States");
    assert_eq!(geographic_area("n-us").unwrap().label, "United States");
    assert!(geographic_area("n-us----x").is_none());
    for l in codelists() {
        assert!(l
            .codes
            .windows(2)
            .all(|w| (w[0].code, w[0].obsolete) < (w[1].code, w[1].obsolete)));
        assert_eq!(codelist(l.id).map(|x| x.id), Some(l.id));
    }
    assert!(codelist("organizations").unwrap().codes.is_empty());
    assert!(codelist("relators").unwrap().lookup(b"aut").is_some());
}

#[test]
fn code_ranges_match_same_length_values_only() {
    let running = layout_008(MaterialType::VisualMaterials)
        .position(18)
        .unwrap();
    assert_eq!(running.lookup(b"001").unwrap().label, "Running time");
    assert_eq!(running.lookup(b"999").unwrap().label, "Running time");
    assert_eq!(
        running.lookup(b"000").unwrap().label,
        "Running time exceeds three characters"
    );
    assert_eq!(running.lookup(b"---").unwrap().label, "Unknown");
    assert!(running.lookup(b"1a0").is_none() && running.lookup(b"01").is_none());
    let contents = layout_008(MaterialType::Books).position(24).unwrap();
    let units: Vec<&[u8]> = contents.units(b"bi  ").collect();
    assert_eq!(units, [&b"b"[..], b"i", b" ", b" "]);
    let whole: Vec<&[u8]> = running.units(b"095").collect();
    assert_eq!(whole, [&b"095"[..]]);
    let special = layout_008(MaterialType::Maps).position(33).unwrap();
    assert_eq!(special.units(b"||").collect::<Vec<_>>(), [&b"||"[..]]);
    assert_eq!(special.units(b"ej").collect::<Vec<_>>(), [&b"e"[..], b"j"]);
}
