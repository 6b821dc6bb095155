//! The run page's checks (`--check`, a scenario's `checks`): k6's summary
//! of each check (passed share, passes, fails), and the `check` failures in
//! the table of error causes, named by the check's text as every other
//! report names them. Nothing for a run without checks.

use super::*;

/// One table row per configured check, in the run's order: the request
/// name it applies to (a column only when the run has names), the check's
/// text, its pass share and its ✓ passes and ✗ fails.
pub fn table(s: &Summary) -> String {
    if s.checks.is_empty() {
        return String::new();
    }
    let named = s.checks.iter().any(|c| c.name.is_some());
    let mut t = String::from("<table><tr>");
    if named {
        t.push_str("<th>name</th>");
    }
    t.push_str("<th>check</th><th>passed</th><th>✓</th><th>✗</th></tr>\n");
    for c in &s.checks {
        t.push_str("<tr>");
        if named {
            let name = c.name.as_deref().unwrap_or("");
            let _ = write!(t, "<td class=\"url\">{}</td>", esc(name));
        }
        let class = if c.fails == 0 { "pass" } else { "fail" };
        let _ = writeln!(
            t,
            "<td class=\"url\">{}</td><td class=\"n {class}\">{:.2}%</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.check),
            c.pass_percent(),
            c.passes,
            c.fails
        );
    }
    t.push_str("</table>\n");
    format!(
        "<h2>Checks</h2>\n{t}<p class=\"sub\">Each check is evaluated on every response \
         it applies to; a request fails (error kind <code>check</code>) at the first \
         check it fails, which the error causes name.</p>\n"
    )
}

/// The rows of the error-cause table: transport causes, then `check`
/// failures by their detail (the first check a request failed, or a
/// stream's error event), each as `check: DETAIL`.
pub fn error_causes(s: &Summary) -> Vec<(String, u64)> {
    s.error_details
        .iter()
        .map(|(f, n)| (f.label().to_string(), *n))
        .chain(s.check_details.iter().map(|(d, n)| {
            match d.starts_with(crate::stats::checks::GRPC_DETAIL) {
                true => (d.clone(), *n),
                false => (format!("check: {d}"), *n),
            }
        }))
        .collect()
}
