//! `pairs add|list|remove`: the tenant pairs of a fleet, in a PostgreSQL state database.

use std::time::Duration;

use serde::Serialize;
use sync_core::fleet::{NewPair, PairRegistry, PairSummary};
use sync_core::state::PostgresOptions;
use sync_core::vault::VaultKey;
use sync_core::ObjectKind;

use crate::cli::{Cli, FleetKeyArgs, PairsAction, PairsArgs};
use crate::connection::Setup;
use crate::error::{sync_err, AppError, AppResult};
use crate::output::print_json;

/// The environment variable holding the fleet key (64 hex digits) when no key file is given.
pub const FLEET_KEY_ENV: &str = "ML_CONNECTOR_FLEET_KEY";

/// Runs `pairs`.
///
/// # Errors
///
/// [`AppError`] for a state that is not a PostgreSQL URL, a missing fleet key, an unusable
/// configuration or vault, or a database failure.
pub async fn run(cli: &Cli, args: &PairsArgs) -> AppResult<()> {
    match &args.action {
        PairsAction::Add {
            id,
            account,
            objects,
            key,
        } => add(cli, id, account, objects.as_deref(), key).await,
        PairsAction::List { json } => list(cli, *json).await,
        PairsAction::Remove { id } => {
            let registry = registry(cli, 1).await?;
            let removed = registry
                .remove(id)
                .await
                .map_err(sync_err("cannot remove the pair"))?;
            if !removed {
                return Err(AppError::Usage(format!(
                    "no tenant pair {id:?} is registered"
                )));
            }
            println!("removed tenant pair {id} (its state stays in the database)");
            Ok(())
        }
    }
}

async fn add(
    cli: &Cli,
    id: &str,
    account: &str,
    objects: Option<&[String]>,
    key: &FleetKeyArgs,
) -> AppResult<()> {
    let fleet_key = fleet_key(key)?;
    let setup = Setup::load(cli)?;
    let (_, credentials) = setup.credentials()?;
    let objects = match objects {
        Some(names) => names
            .iter()
            .map(|name| {
                name.parse::<ObjectKind>().map_err(|_| {
                    AppError::Usage(format!(
                        "--objects: {name:?} is not customers, items, orders or sales_orders"
                    ))
                })
            })
            .collect::<AppResult<Vec<_>>>()?,
        None => setup.config.scheduled_objects(),
    };
    let config = setup.config.pair_config(&objects).map_err(|problem| {
        AppError::Usage(format!("{}: {problem}", setup.config_path.display()))
    })?;
    let registry = registry(cli, 1).await?;
    registry
        .add(
            NewPair {
                id: id.to_owned(),
                account: account.to_owned(),
                config,
                credentials,
            },
            &fleet_key,
        )
        .await
        .map_err(sync_err("cannot register the pair"))?;
    println!("registered tenant pair {id} on Mailchimp account {account}");
    Ok(())
}

#[derive(Serialize)]
struct PairsOutput {
    pairs: Vec<PairSummary>,
}

async fn list(cli: &Cli, json: bool) -> AppResult<()> {
    let registry = registry(cli, 1).await?;
    let pairs = registry
        .list()
        .await
        .map_err(sync_err("cannot list the pairs"))?;
    if json {
        return print_json(&PairsOutput { pairs });
    }
    if pairs.is_empty() {
        println!("no tenant pairs registered");
    }
    for pair in pairs {
        let objects: Vec<String> = pair
            .config
            .objects
            .iter()
            .map(|o| {
                format!(
                    "{} every {}",
                    o.object,
                    humantime::format_duration(Duration::from_secs(o.every_secs))
                )
            })
            .collect();
        let held = pair.held_by.map_or_else(
            || "not worked now".to_owned(),
            |held| {
                format!(
                    "worked by {} (claim until {})",
                    held.worker,
                    held.until.format("%H:%M:%S UTC")
                )
            },
        );
        println!(
            "{}  account {}  audience {}  {}  {held}",
            pair.id,
            pair.account,
            pair.config.sync.list_id,
            objects.join(", ")
        );
    }
    Ok(())
}

/// The fleet's registry at `--state`, which must be a PostgreSQL URL.
///
/// # Errors
///
/// [`AppError::Usage`] when `--state` is missing or not a PostgreSQL URL;
/// [`AppError::Sync`] when the database cannot be reached or migrated.
pub async fn registry(cli: &Cli, connections: usize) -> AppResult<PairRegistry> {
    let url = cli
        .state
        .as_ref()
        .and_then(|s| s.to_str())
        .filter(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
        .ok_or_else(|| {
            AppError::Usage(
                "the fleet lives in PostgreSQL: give --state postgres://user@host/database".into(),
            )
        })?;
    PairRegistry::connect_with(url, PostgresOptions::new().max_connections(connections))
        .await
        .map_err(sync_err("cannot open the fleet's state database"))
}

/// The fleet key from `--fleet-key-file` or [`FLEET_KEY_ENV`].
///
/// # Errors
///
/// [`AppError::VaultSetup`] when neither is set; [`AppError::Sync`] when the key is invalid.
pub fn fleet_key(args: &FleetKeyArgs) -> AppResult<VaultKey> {
    let key = match &args.fleet_key_file {
        Some(file) => VaultKey::from_file(file),
        None if std::env::var_os(FLEET_KEY_ENV).is_none() => {
            return Err(AppError::VaultSetup(format!(
                "no fleet key: give --fleet-key-file or set {FLEET_KEY_ENV} (64 hex digits; \
                 every worker needs the same key)"
            )))
        }
        None => VaultKey::from_env(FLEET_KEY_ENV),
    };
    key.map_err(|e| AppError::VaultSetup(format!("the fleet key is not usable: {e}")))
}
