use blast::config::cli::Cli;
use blast::error::Error;
use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    blast::cmd::process::limit_memory();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One line naming the flag and why, not clap's whole page.
            let msg = e.to_string();
            let mut lines = msg.lines().map(str::trim).filter(|l| !l.is_empty());
            let mut line = lines.next().unwrap_or("bad usage").to_string();
            // A missing argument is named on the line after the colon.
            if line.ends_with(':') {
                line = format!("{line} {}", lines.next().unwrap_or(""));
            }
            eprintln!("blast: {}", line.trim_start_matches("error: "));
            std::process::exit(2);
        }
    };
    std::process::exit(blast::cmd::dispatch(&cli).unwrap_or_else(|e: Error| {
        eprintln!("blast: {e}");
        e.exit_code()
    }));
}
