//! Benchmark programs (`casedesk bench …`).

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Inbound message ingest over loopback HTTP.
    Ingest,
}

pub async fn run(command: BenchCommand) -> Result<(), String> {
    match command {
        BenchCommand::Ingest => Err("not written yet".into()),
    }
}
