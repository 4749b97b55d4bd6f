//! Compiles `templates/` into the binary (minijinja-embed), so a deployed binary needs no files.
fn main() {
    minijinja_embed::embed_templates!("templates", &[".txt", ".html", ".j2"]);
}
