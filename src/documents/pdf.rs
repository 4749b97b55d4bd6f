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

/// The largest attachment read from a PDF, inflated (a cédula's `cedula.json` is about 1 kB).
pub const MAX_ATTACHMENT_BYTES: usize = 64 * 1024;

/// The largest stream inflated while a PDF is loaded (object and cross-reference streams).
const MAX_LOADED_STREAM_BYTES: usize = 8 * 1024 * 1024;

/// Why an attachment could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    /// It, or a stream needed to reach it, inflates beyond the caps (a decompression bomb).
    #[error("the attachment or a stream of the PDF inflates beyond the size cap")]
    TooLarge,
}

/// The file attached to a PDF under `name`, if any (how `verify` reads a cédula's payload),
/// inflated to at most [`MAX_ATTACHMENT_BYTES`].
pub fn attachment(pdf: &[u8], name: &str) -> Result<Option<Vec<u8>>, AttachmentError> {
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(MAX_LOADED_STREAM_BYTES),
        ..lopdf::LoadOptions::default()
    };
    let doc = match lopdf::Document::load_mem_with_options(pdf, options) {
        Ok(doc) => doc,
        Err(error) if is_over_limit(&error) => return Err(AttachmentError::TooLarge),
        Err(_) => return Ok(None),
    };
    let deref = |object: &lopdf::Object| doc.dereference(object).ok().map(|(_, o)| o.clone());
    let tree = (|| {
        let names = deref(doc.catalog().ok()?.get(b"Names").ok()?)?;
        deref(names.as_dict().ok()?.get(b"EmbeddedFiles").ok()?)
    })();
    let Some(tree) = tree else {
        return Ok(None);
    };
    let Ok(tree) = tree.as_dict() else {
        return Ok(None);
    };
    let Some(stream) = find_in_tree(&doc, tree, name.as_bytes(), 0) else {
        return Ok(None);
    };
    match stream.get_plain_content_with_limit(MAX_ATTACHMENT_BYTES) {
        Ok(content) => Ok(Some(content)),
        Err(error) if is_over_limit(&error) => Err(AttachmentError::TooLarge),
        Err(_) => Ok(None),
    }
}

fn is_over_limit(error: &lopdf::Error) -> bool {
    matches!(
        error,
        lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })
    )
}

/// The embedded file stream named `name` in a name tree (bounded depth).
fn find_in_tree(
    doc: &lopdf::Document,
    node: &lopdf::Dictionary,
    name: &[u8],
    depth: usize,
) -> Option<lopdf::Stream> {
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
            return stream.as_stream().ok().cloned();
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
