//! The `sova` command line. Placeholder until the CLI issue lands.

fn main() {
    eprintln!("sova: the command line is not built yet (see the CLI issue); nothing to do.");
    std::process::exit(2);
}
