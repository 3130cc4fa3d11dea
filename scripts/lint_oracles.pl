#!/usr/bin/perl
# The reference validators over one ISO 2709 file, for the lint conformance fixtures
# (scripts/gen_lint_fixtures.sh). Records are framed once, by MARC::File::USMARC, and each is
# checked by both:
#   * MARC::Lint (libmarc-lint-perl): check_record's warnings;
#   * MARC::Schema (libmarc-schema-perl), the check `marcvalidate` runs, on the record in the
#     array form MARC::Parser::RAW gives marcvalidate.
# Output, tab-separated, one finding a line:
#   marclint      INDEX  LEADER06  MESSAGE
#   marcschema    INDEX  LEADER06  TAG  ERROR  VALUE
#   unreadable    INDEX  -         PERL ERROR
#   records       COUNT
# INDEX counts the records MARC::File::USMARC yields, from 0.
use strict;
use warnings;
use MARC::File::USMARC;
use MARC::Lint;
use MARC::Schema;

binmode STDOUT, ':raw';
# The readers warn about every oddity of a broken record; the findings are what counts.
$SIG{__WARN__} = sub { };

# Text as UTF-8 bytes, however Perl holds it.
sub out {
    my $line = join("\t", @_) . "\n";
    utf8::encode($line) if utf8::is_utf8($line);
    print $line;
}
my $file = shift or die "usage: $0 FILE\n";
my $in = MARC::File::USMARC->in($file) or die "cannot open $file\n";
my $lint = MARC::Lint->new;
my $schema = MARC::Schema->new;
# MARC::Lint prints "... is not a valid field for article checking" to STDOUT for some
# tags; those lines are not findings.
open my $devnull, '>', '/dev/null' or die;

my $index = -1;
while (1) {
    my $record = eval { $in->next() };
    $index++;
    if ($@) {
        (my $e = $@) =~ s/\s+/ /g;
        out("unreadable", $index, "-", $e);
        next;
    }
    last unless defined $record;
    my $type = substr($record->leader(), 6, 1);
    {
        local *STDOUT = $devnull;
        eval { $lint->check_record($record) };
    }
    for my $w ($lint->warnings) {
        $w =~ s/[\t\r\n]+/ /g;
        out("marclint", $index, $type, $w);
    }
    my @fields = (['LDR', undef, undef, '_', $record->leader()]);
    for my $f ($record->fields) {
        if ($f->is_control_field) {
            push @fields, [$f->tag, undef, undef, '_', $f->data];
        } else {
            push @fields, [$f->tag, $f->indicator(1), $f->indicator(2), map { @$_ } $f->subfields];
        }
    }
    for my $e ($schema->check({record => \@fields})) {
        my $value = defined $e->{value} ? $e->{value} : '';
        out("marcschema", $index, $type, $e->{tag}, $e->{error}, $value);
    }
}
out("records", $index);
