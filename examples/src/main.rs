//! The `ml-connector` command (under construction).

fn main() {
    eprintln!("ml-connector: the demo is not built yet; see README.md");
    std::process::exit(2);
}
