//! Starts the fakes of Mailchimp and QAD (under construction).

fn main() {
    eprintln!("ml-fakes: not built yet");
    std::process::exit(2);
}
