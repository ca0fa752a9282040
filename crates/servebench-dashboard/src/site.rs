//! The front end, embedded in the binary (built from `dashboard/` by `npm run build`), and the
//! static export: the same files plus every API resource written where the pages fetch it.

use crate::api::{view_slug, Api, ApiError};
use servebench_analysis::grouping::Grouping;
use std::path::Path;

/// (path, bytes, content type) of every embedded file.
pub const ASSETS: &[(&str, &[u8], &str)] = &[
    (
        "index.html",
        include_bytes!("../assets/index.html"),
        "text/html; charset=utf-8",
    ),
    (
        "app.js",
        include_bytes!("../assets/app.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "style.css",
        include_bytes!("../assets/style.css"),
        "text/css; charset=utf-8",
    ),
    (
        "vendor/chart.umd.min.js",
        include_bytes!("../assets/vendor/chart.umd.min.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "vendor/chart.js.LICENSE.md",
        include_bytes!("../assets/vendor/chart.js.LICENSE.md"),
        "text/markdown; charset=utf-8",
    ),
];

/// The embedded file at `path` (`""` is the index page).
pub fn asset(path: &str) -> Option<(&'static [u8], &'static str)> {
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, b, t)| (*b, *t))
}

/// What an export wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub views: usize,
    pub points: usize,
    pub files: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn write(out: &Path, rel: &str, bytes: &[u8], n: &mut Exported) -> Result<(), ExportError> {
    let path = out.join(rel);
    let io = |e| ExportError::Io {
        path: path.display().to_string(),
        source: e,
    };
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io)?;
    }
    std::fs::write(&path, bytes).map_err(io)?;
    n.files += 1;
    Ok(())
}

/// Writes the site into `out`: the pages, `api/v1/index.json`, every view and, with
/// `details`, every point's detail.
pub fn export(api: &mut Api, out: &Path, details: bool) -> Result<Exported, ExportError> {
    let mut n = Exported::default();
    for (path, bytes, _) in ASSETS {
        write(out, path, bytes, &mut n)?;
    }
    let mut index = api.index(None)?;
    // A static file server cannot answer `?asof=`: the pages say so instead of showing today's.
    index["as_of"]["supported"] = false.into();
    write(
        out,
        "api/v1/index.json",
        index.to_string().as_bytes(),
        &mut n,
    )?;
    write(
        out,
        "api/v1/reliability.json",
        &serde_json::to_vec(&api.reliability(None, None)?).unwrap_or_default(),
        &mut n,
    )?;
    write(
        out,
        "api/v1/gpus.json",
        api.gpus().to_string().as_bytes(),
        &mut n,
    )?;
    for v in api.store.views().map_err(ApiError::from)? {
        let view = api.view_of(&v.model, v.isl, v.osl, None)?;
        let slug = view_slug(&v.model, v.isl, v.osl);
        write(
            out,
            &format!("api/v1/views/{slug}.json"),
            &serde_json::to_vec(&view).map_err(ApiError::from)?,
            &mut n,
        )?;
        // What the pages read: the same view as binary columns.
        write(
            out,
            &format!("api/v1/views/{slug}.bin"),
            &view.to_binary().map_err(ApiError::from)?,
            &mut n,
        )?;
        n.views += 1;
        for g in Grouping::ALL {
            for (new_only, suffix) in [(false, ""), (true, ".new")] {
                let doc = api.figures_of(&v.model, v.isl, v.osl, g, None, new_only)?;
                write(
                    out,
                    &format!("api/v1/figures/{slug}/{g}{suffix}.json"),
                    &serde_json::to_vec(&doc).unwrap_or_default(),
                    &mut n,
                )?;
            }
        }
        for run in &view.runs {
            let doc = api.builds(&slug, &run.id)?;
            write(
                out,
                &format!("api/v1/builds/{slug}/{}.json", run.id),
                doc.to_string().as_bytes(),
                &mut n,
            )?;
        }
        if details {
            for id in &view.points.id {
                let id = id.to_string();
                let detail = api.point(&id)?;
                write(
                    out,
                    &format!("api/v1/points/{id}.json"),
                    detail.to_string().as_bytes(),
                    &mut n,
                )?;
                n.points += 1;
            }
        }
    }
    Ok(n)
}
