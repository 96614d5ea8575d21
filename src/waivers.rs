//! Which waivers file a run uses: `--waivers FILE`, else `.mcp-doctor-waivers.yaml` in the working
//! directory when present, never with `--no-waivers`. It is read and validated before any check runs, so
//! a broken file stops the tool (exit 2) instead of failing a long run at the end, and the file in use is
//! always announced on stderr: nothing is waived without saying so.

use std::path::PathBuf;

use mcp_doctor_runner::{DEFAULT_WAIVERS_FILE, Waivers};

use crate::StartError;
use crate::cli::OutputArgs;
use crate::run::registry;

pub fn load(out: &OutputArgs) -> Result<Option<Waivers>, StartError> {
    let path = match (&out.waivers, out.no_waivers) {
        (_, true) => return Ok(None),
        (Some(path), false) => path.clone(),
        (None, false) => {
            let default = PathBuf::from(DEFAULT_WAIVERS_FILE);
            if !default.is_file() {
                return Ok(None);
            }
            default
        }
    };
    let waivers = Waivers::load(&path, &|id| registry().get(id).is_some())?;
    eprintln!(
        "mcp-doctor: {} waiver{} from {} (--no-waivers ignores the default file)",
        waivers.entries.len(),
        if waivers.entries.len() == 1 { "" } else { "s" },
        path.display()
    );
    Ok(Some(waivers))
}
