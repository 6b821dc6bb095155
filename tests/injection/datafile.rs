//! Section 3: a data file read by the CSV record rules whatever its line
//! endings: lone CR (classic Mac, some spreadsheet exports), CRLF or LF,
//! and no CR left at the end of a last field.

use super::raw_server;
use crate::support::run;
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
        let r = run(&[
            "-c",
            "1",
            "-t",
            "1",
            "-n",
            "3",
            "--data",
            &data,
            &format!("{url}/d/{{{{id}}}}/{{{{name}}}}"),
        ]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let seen: BTreeSet<String> = s.log()[before..]
            .iter()
            .map(|e| e["p"].as_str().unwrap().to_string())
            .collect();
        let want: BTreeSet<String> = ["/d/1/a", "/d/2/b", "/d/3/c"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(seen, want, "{name}");
    }
}
