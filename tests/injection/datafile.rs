//! Section 3: a data file read by the CSV record rules whatever its line
//! endings: lone CR (classic Mac, some spreadsheet exports), CRLF or LF,
//! and no CR left at the end of a last field.

use super::{raw_server, run_data, targets};
use std::collections::BTreeSet;

#[test]
fn cr_only_and_trailing_cr_data_files_fill_every_row() {
    let (s, url) = raw_server("datafile");
    for (name, text) in [
        ("cr.csv", "id,name\r1,a\r2,b\r3,c\r"),
        ("crlf.csv", "id,name\r\n1,a\r\n2,b\r\n3,c\r"),
        ("mixed.csv", "id,name\n1,a\r2,\"b\"\r\n3,c"),
    ] {
        let data = s.file(name, text);
        let before = s.log().len();
        let r = run_data(3, &data, &format!("{url}/d/{{{{id}}}}/{{{{name}}}}"));
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let seen = targets(&s.log()[before..]);
        let want: BTreeSet<String> = ["/d/1/a", "/d/2/b", "/d/3/c"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(seen, want, "{name}");
    }
}
