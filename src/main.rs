use blast::cli::{Cli, Command};
use blast::error::Error;
use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    blast::process::limit_memory();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One line naming the flag and why, not clap's whole page.
            let msg = e.to_string();
            let line = msg
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("bad usage");
            eprintln!("blast: {}", line.trim_start_matches("error: "));
            std::process::exit(2);
        }
    };
    let code = match cli.command {
        Some(Command::Find(f)) => blast::commands::find_main(&f),
        Some(Command::Report(r)) => blast::compare::main(&r),
        Some(Command::Merge(m)) => blast::hlog::merge_main(&m),
        Some(Command::Target(t)) => blast::commands::target_main(&t),
        Some(Command::Calibrate(c)) => blast::commands::calibrate_main(&c),
        None => blast::commands::run_main(&cli.run),
    };
    std::process::exit(code.unwrap_or_else(|e: Error| {
        eprintln!("blast: {e}");
        e.exit_code()
    }));
}
