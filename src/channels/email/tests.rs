use super::*;

#[test]
fn reply_prefixes_are_stripped_in_any_case_and_number() {
    assert_eq!(strip_reply_prefixes("Re: RV: Fwd: AYUDA"), "AYUDA");
    assert_eq!(strip_reply_prefixes("RE:estado"), "estado");
    assert_eq!(strip_reply_prefixes("Tu tr\u{e1}mite"), "Tu tr\u{e1}mite");
}

fn mail(subject: &str, text: &str) -> Mail {
    Mail {
        subject: subject.into(),
        text: text.into(),
        from: Some("luz@correo.test".into()),
        ..Mail::default()
    }
}

#[test]
fn a_command_in_the_subject_wins_and_the_body_is_kept() {
    let (input, kept) = read_split(&mail("Re: AYUDA", "no entiendo"));
    assert_eq!(input, Input::Text("AYUDA".into()));
    assert_eq!(kept, "no entiendo");
}

#[test]
fn a_command_on_the_first_line_is_read_alone() {
    let (input, kept) = read_split(&mail("Re: Tu tr\u{e1}mite", "estado\npor favor\n"));
    assert_eq!(input, Input::Text("estado".into()));
    assert_eq!(kept, "por favor");
}

#[test]
fn the_new_text_is_the_answer_and_the_quote_is_kept() {
    let (input, kept) = read_split(&mail(
        "Re: Tu tr\u{e1}mite",
        "PEGL890909MJCRMS08\n\nOn Mon, Nov 30, 2026 at 10:15 AM Ventanilla wrote:\n> \u{bf}Cu\u{e1}l es tu CURP?\n",
    ));
    assert_eq!(input, Input::Text("PEGL890909MJCRMS08".into()));
    assert!(kept.contains("\u{bf}Cu\u{e1}l es tu CURP?"), "{kept}");
}

#[test]
fn only_an_attachment_is_an_unsupported_document() {
    let mut m = mail("Re: Tu tr\u{e1}mite", "");
    m.attachments.push(parse::Attachment {
        name: Some("titulo.pdf".into()),
        content_type: "application/pdf".into(),
        size: 100,
    });
    assert_eq!(read_split(&m).0, Input::Unsupported("document".into()));
    assert_eq!(read_split(&mail("x", "  ")).0, Input::Text(String::new()));
}
