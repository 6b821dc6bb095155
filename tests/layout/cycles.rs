//! Cycles in the import graph: Tarjan's strongly connected components, then
//! every elementary cycle inside each component (each found once, from its
//! smallest file), shortest first, so the report reads as a to-do list.

use std::collections::BTreeMap;

use super::imports::{Evidence, Graph};

/// Enough cycles to direct the work; a component past this is one knot.
const MAX_CYCLES: usize = 500;

/// Components of more than one file, each sorted, in file order.
pub fn components(g: &Graph) -> Vec<Vec<usize>> {
    let mut t = Tarjan {
        g,
        index: vec![None; g.files.len()],
        low: vec![0; g.files.len()],
        on_stack: vec![false; g.files.len()],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..g.files.len() {
        if t.index[v].is_none() {
            t.visit(v);
        }
    }
    let mut out: Vec<Vec<usize>> = t.out.into_iter().filter(|c| c.len() > 1).collect();
    for c in &mut out {
        c.sort();
    }
    out.sort();
    out
}

struct Tarjan<'a> {
    g: &'a Graph,
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    out: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        let succ: Vec<usize> = self
            .g
            .edges
            .get(&v)
            .map(|e| e.keys().copied().collect())
            .unwrap_or_default();
        for w in succ {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            self.out.push(comp);
        }
    }
}

/// Every elementary cycle (up to `MAX_CYCLES`), as file indices with the
/// first repeated at the end, shortest first.
pub fn cycles(g: &Graph) -> Vec<Vec<usize>> {
    let mut all = Vec::new();
    for comp in components(g) {
        for &start in &comp {
            let allowed = |w: usize| w >= start && comp.binary_search(&w).is_ok();
            let mut path = vec![start];
            walk(g, start, &allowed, &mut path, &mut all);
        }
    }
    all.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
    all
}

fn walk(
    g: &Graph,
    start: usize,
    allowed: &dyn Fn(usize) -> bool,
    path: &mut Vec<usize>,
    out: &mut Vec<Vec<usize>>,
) {
    let v = *path.last().expect("path starts non-empty");
    let Some(succ) = g.edges.get(&v) else {
        return;
    };
    for &w in succ.keys() {
        if out.len() >= MAX_CYCLES {
            return;
        }
        if w == start {
            let mut c = path.clone();
            c.push(start);
            out.push(c);
        } else if allowed(w) && !path.contains(&w) {
            path.push(w);
            walk(g, start, allowed, path, out);
            path.pop();
        }
    }
}

/// `a.rs -> b.rs -> a.rs`
pub fn show(g: &Graph, cycle: &[usize]) -> String {
    cycle
        .iter()
        .map(|&i| g.files[i].as_str())
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Empty when there is no cycle; otherwise the cycles, the components, and
/// where each import inside a component is written.
pub fn report(g: &Graph) -> String {
    let comps = components(g);
    if comps.is_empty() {
        return String::new();
    }
    let cyc = cycles(g);
    let mut s = format!("{} import cycle(s) among the files of src/:\n", cyc.len());
    for c in &cyc {
        s += &format!("  {}\n", show(g, c));
    }
    if cyc.len() >= MAX_CYCLES {
        s += &format!("  (stopped at {MAX_CYCLES})\n");
    }
    s += &format!("{} strongly connected component(s):\n", comps.len());
    for comp in &comps {
        let names: Vec<&str> = comp.iter().map(|&i| g.files[i].as_str()).collect();
        s += &format!("  {{{}}}\n", names.join(", "));
    }
    s += "imports inside them (first place each is written):\n";
    for comp in &comps {
        for &a in comp {
            let inner: BTreeMap<&usize, &Evidence> = g.edges[&a]
                .iter()
                .filter(|(b, _)| comp.binary_search(b).is_ok())
                .collect();
            for (&b, e) in inner {
                s += &format!(
                    "  {} -> {}   ({}:{} {})\n",
                    g.files[a], g.files[b], g.files[a], e.line, e.path
                );
            }
        }
    }
    s
}
