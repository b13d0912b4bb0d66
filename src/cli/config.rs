//! `wasmgate config show|init`.

use super::{ConfigCommand, Context};
use anyhow::{Result, bail};
use std::path::Path;

pub fn run(ctx: &Context, command: ConfigCommand) -> Result<u8> {
    match command {
        ConfigCommand::Show => {
            println!("# effective configuration, from {}", ctx.loaded.origin());
            print!("{}", crate::config::to_yaml(&ctx.loaded.config)?);
        }
        ConfigCommand::Init { force } => {
            let path = Path::new(crate::config::DEFAULT_FILE_NAME);
            if path.exists() && !force {
                bail!("{} exists; pass --force to overwrite it", path.display());
            }
            crate::model::write_atomic(path, crate::config::DEFAULT_YAML.as_bytes())?;
            println!("wrote {}", path.display());
        }
    }
    Ok(0)
}
