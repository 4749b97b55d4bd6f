//! PDF documents rendered with typst from the templates in `templates/documents/` (compiled in),
//! with the DejaVu fonts. A document is a function of its data: the same data gives the same
//! bytes (no timestamps, a stable document identifier).

use std::sync::Arc;

use anyhow::anyhow;
use typst::foundations::{Dict, Smart, Value};
use typst_as_lib::{TypstEngine, TypstTemplateCollection};
use typst_layout::PagedDocument;
use typst_pdf::PdfOptions;

/// The typst templates, by name.
const SOURCES: [(&str, &str); 5] = [
    (
        "common.typ",
        include_str!("../../templates/documents/common.typ"),
    ),
    (
        "cedula.typ",
        include_str!("../../templates/documents/cedula.typ"),
    ),
    (
        "hoja_de_ayuda.typ",
        include_str!("../../templates/documents/hoja_de_ayuda.typ"),
    ),
    (
        "solicitud.typ",
        include_str!("../../templates/documents/solicitud.typ"),
    ),
    (
        "comprobante_cita.typ",
        include_str!("../../templates/documents/comprobante_cita.typ"),
    ),
];

/// The PDF renderer (cheap to clone; fonts and templates are loaded once).
#[derive(Clone)]
pub struct Pdf {
    engine: Arc<TypstEngine<TypstTemplateCollection>>,
}

impl Default for Pdf {
    fn default() -> Self {
        Pdf::new()
    }
}

impl Pdf {
    pub fn new() -> Pdf {
        let fonts: [&'static [u8]; 5] = [
            dejavu::sans::regular(),
            dejavu::sans::bold(),
            dejavu::sans::oblique(),
            dejavu::sans::bold_oblique(),
            dejavu::sans_mono::regular(),
        ];
        let engine = TypstEngine::builder()
            .fonts(fonts)
            .with_static_source_file_resolver(SOURCES)
            .build();
        Pdf {
            engine: Arc::new(engine),
        }
    }

    /// Renders `template` with `inputs` (strings, read in typst as `sys.inputs`). `ident`
    /// identifies the document stably (e.g. `cedula-00000001`).
    pub fn render(
        &self,
        template: &str,
        ident: &str,
        inputs: &[(&str, &str)],
    ) -> anyhow::Result<Vec<u8>> {
        let mut dict = Dict::new();
        for (key, value) in inputs {
            dict.insert((*key).into(), Value::Str((*value).into()));
        }
        let document: PagedDocument = self
            .engine
            .compile_with_input(template, dict)
            .output
            .map_err(|e| anyhow!("typst could not compile {template}: {e}"))?;
        let options = PdfOptions {
            ident: Smart::Custom(ident.to_string()),
            creator: Smart::Custom(Some("Ventanilla".to_string())),
            timestamp: None,
            ..PdfOptions::default()
        };
        typst_pdf::pdf(&document, &options)
            .map_err(|e| anyhow!("typst could not write the PDF of {template}: {e:?}"))
    }
}

/// The file attached to a PDF under `name`, if any (how `verify` reads a cédula's payload).
pub fn attachment(pdf: &[u8], name: &str) -> Option<Vec<u8>> {
    let doc = lopdf::Document::load_mem(pdf).ok()?;
    let deref = |object: &lopdf::Object| doc.dereference(object).ok().map(|(_, o)| o.clone());
    let names = deref(doc.catalog().ok()?.get(b"Names").ok()?)?;
    let tree = deref(names.as_dict().ok()?.get(b"EmbeddedFiles").ok()?)?;
    find_in_tree(&doc, tree.as_dict().ok()?, name.as_bytes(), 0)
}

fn find_in_tree(
    doc: &lopdf::Document,
    node: &lopdf::Dictionary,
    name: &[u8],
    depth: usize,
) -> Option<Vec<u8>> {
    let deref = |object: &lopdf::Object| doc.dereference(object).ok().map(|(_, o)| o.clone());
    if depth > 16 {
        return None;
    }
    if let Ok(names) = node.get(b"Names").and_then(|n| n.as_array()) {
        for pair in names.chunks(2) {
            let [key, spec] = pair else { continue };
            let key = deref(key)?;
            if key.as_str().ok()? != name {
                continue;
            }
            let spec = deref(spec)?;
            let files = deref(spec.as_dict().ok()?.get(b"EF").ok()?)?;
            let stream = deref(files.as_dict().ok()?.get(b"F").ok()?)?;
            let stream = stream.as_stream().ok()?;
            return stream
                .decompressed_content()
                .ok()
                .or_else(|| Some(stream.content.clone()));
        }
    }
    if let Ok(kids) = node.get(b"Kids").and_then(|k| k.as_array()) {
        for kid in kids {
            let kid = deref(kid)?;
            if let Some(found) = find_in_tree(doc, kid.as_dict().ok()?, name, depth + 1) {
                return Some(found);
            }
        }
    }
    None
}
