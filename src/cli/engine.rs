//! `keylab engine serve|reset|audit|clock`: the built-in engine on its own, for learners' own
//! tools (the AWS CLI, boto3, Terraform), its state cleared, its audit log shown, and the clock
//! of a running engine shown or moved forward (a client of the engine's admin API, signed with
//! the owner-account credentials in the environment).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use keylab_engine::{DEFAULT_REGION, Engine, EngineConfig, audit};

use super::runtime;

#[derive(Debug, Subcommand)]
pub enum EngineCommand {
    /// Run the engine in the foreground and print how to connect to it.
    Serve(ServeArgs),
    /// Delete the engine's state (keys, aliases, grants, audit log, generated secrets).
    Reset(StateArgs),
    /// Show the engine's audit log.
    Audit(AuditArgs),
    /// Show or move forward the clock of a running engine (owner-account credentials only).
    Clock(ClockArgs),
}

#[derive(Debug, Args)]
pub struct ClockArgs {
    #[command(subcommand)]
    action: ClockAction,
    /// The running engine's endpoint [default: $KEYLAB_HTTP_ENDPOINT, else $AWS_ENDPOINT_URL,
    /// else http://127.0.0.1:4510]
    #[arg(long, global = true)]
    endpoint: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ClockAction {
    /// Print the engine's time and how far it is ahead of real time.
    Show,
    /// Move the clock forward by a duration: 45s, 90m, 2h, 30d or 2w.
    Advance {
        /// How far, such as 30d
        by: String,
    },
    /// Move the clock forward to a time (RFC 3339, such as 2027-01-01T00:00:00Z).
    Set {
        /// The new time
        time: String,
    },
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// The engine's state directory [default: the user's data directory]
    #[arg(long, env = "KEYLAB_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    state: StateArgs,
    /// HTTP port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 4510)]
    port: u16,
    /// HTTPS port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 4511)]
    tls_port: u16,
    /// The region to serve
    #[arg(long, default_value = DEFAULT_REGION)]
    region: String,
    /// A TOML file of lab identities to use instead of the built-in ones
    #[arg(long)]
    identities: Option<PathBuf>,
    /// Print the endpoints and identities as one JSON object on the first line of stdout
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Print events as JSON Lines
    #[arg(long)]
    json: bool,
    /// Show only denied requests, with the explanation of each decision
    #[arg(long)]
    denied: bool,
}

/// The default state directory: `engine` in keylab's data directory.
pub fn default_state_dir() -> Result<PathBuf> {
    let data = keylab::lab::progress::DataDir::default_location()
        .map_err(anyhow::Error::msg)
        .context("pass --state-dir DIR")?;
    Ok(data.0.join("engine"))
}

fn state_dir(args: &StateArgs) -> Result<PathBuf> {
    match &args.state_dir {
        Some(d) => Ok(d.clone()),
        None => default_state_dir(),
    }
}

/// `keylab engine serve`.
pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let state_dir = state_dir(&args.state)?;
    let config = EngineConfig {
        state_dir,
        http_port: args.port,
        https_port: args.tls_port,
        region: args.region.clone(),
        identities_file: args.identities.clone(),
    };
    runtime()?.block_on(async move {
        let engine = Engine::start(config).await?;
        if args.json {
            outln!("{}", serde_json::to_string(&describe(&engine))?);
        } else {
            print_banner(&engine)?;
        }
        use std::io::Write;
        std::io::stdout().flush()?;
        wait_for_stop().await;
        engine.shutdown().await;
        if !args.json {
            eprintln!(
                "keylab engine stopped; state kept in {}",
                config_dir_display(&args.state)
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn config_dir_display(args: &StateArgs) -> String {
    state_dir(args)
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn describe(engine: &Engine) -> serde_json::Value {
    let identities: Vec<_> = engine
        .identities()
        .identities()
        .iter()
        .map(|i| {
            json!({
                "name": i.profile,
                "account": i.caller.account,
                "arn": i.caller.arn,
                "access_key_id": i.access_key_id,
                "secret_access_key": i.secret.expose(),
            })
        })
        .collect();
    json!({
        "http": engine.http_endpoint(),
        "https": engine.https_endpoint(),
        "ca_cert": engine.ca_cert_path(),
        "region": engine.region(),
        "state_dir": engine.state_dir(),
        "identities": identities,
        "role_profiles": engine.identities().role_profiles(),
    })
}

fn print_banner(engine: &Engine) -> std::io::Result<()> {
    outln!(
        "keylab engine ready in {} ms",
        engine.startup_time().as_millis()
    );
    outln!("  HTTP   {}", engine.http_endpoint());
    outln!(
        "  HTTPS  {}  (trust {})",
        engine.https_endpoint(),
        engine.ca_cert_path().display()
    );
    outln!(
        "  region {}, state in {}",
        engine.region(),
        engine.state_dir().display()
    );
    outln!();
    outln!("Lab identities:");
    for i in engine.identities().identities() {
        outln!("  {:<17} {}", i.profile, i.caller.arn);
        outln!(
            "  {:<17} access key {}  secret {}",
            "",
            i.access_key_id,
            i.secret.expose()
        );
    }
    let role_profiles = engine.identities().role_profiles();
    if !role_profiles.is_empty() {
        outln!();
        outln!(
            "Role profiles (add to ~/.aws/config with the identities above as source profiles):"
        );
        for p in role_profiles {
            outln!(
                "  {:<26} role_arn = {}  source_profile = {}",
                p.name,
                p.role_arn,
                p.source_profile
            );
        }
    }
    if let Some(first) = engine.identities().identities().first() {
        outln!();
        outln!(
            "Use it from the aws CLI, boto3 or any SDK, for example as {}:",
            first.profile
        );
        outln!(
            "  export AWS_ENDPOINT_URL={} AWS_DEFAULT_REGION={}",
            engine.http_endpoint(),
            engine.region()
        );
        outln!(
            "  export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
            first.access_key_id,
            first.secret.expose()
        );
        outln!(
            "  (over HTTPS: AWS_ENDPOINT_URL={} AWS_CA_BUNDLE={})",
            engine.https_endpoint(),
            engine.ca_cert_path().display()
        );
    }
    outln!();
    outln!("Press Ctrl-C to stop.");
    Ok(())
}

/// `keylab engine reset`.
pub fn reset(args: &StateArgs) -> Result<ExitCode> {
    let dir = state_dir(args)?;
    keylab_engine::state::reset(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    outln!("engine state cleared: {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// `keylab engine audit`.
pub fn show_audit(args: &AuditArgs) -> Result<ExitCode> {
    let path = state_dir(&args.state)?.join(audit::FILE_NAME);
    if !path.exists() {
        bail!(
            "{} does not exist: the engine has not served any request with this state directory",
            path.display()
        );
    }
    let events = audit::read_file(&path).map_err(anyhow::Error::msg)?;
    for e in events
        .iter()
        .filter(|e| !args.denied || e.decision.as_deref() == Some("Deny"))
    {
        if args.json {
            outln!("{}", serde_json::to_string(e)?);
            continue;
        }
        let who = e
            .user_identity
            .as_ref()
            .map(|u| u.arn.as_str())
            .unwrap_or("(unauthenticated)");
        let outcome = e.error_code.as_deref().unwrap_or("OK");
        let transport = if e.secure_transport { "https" } else { "http" };
        outln!(
            "{} {:<32} {:<8} {:<5} {} {}",
            e.event_time,
            e.event_name,
            outcome,
            transport,
            who,
            e.resources.join(",")
        );
        if let (true, Some(trace)) = (args.denied, &e.trace) {
            for s in &trace.statements {
                outln!(
                    "    {} {} ({}): {}",
                    s.policy,
                    s.statement,
                    s.effect,
                    if s.applies {
                        "applies"
                    } else {
                        "does not apply"
                    }
                );
                for n in &s.notes {
                    outln!("      - {n}");
                }
            }
            for step in &trace.steps {
                outln!("    => {step}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses `45s`, `90m`, `2h`, `30d`, `2w` (or plain seconds) into seconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!(
            "'{text}' is not a duration: write a whole number and one of s, m, h, d, w (such as 30d or 2h)"
        ),
    };
    let n: i64 = number.parse().map_err(|_| {
        anyhow::anyhow!("'{text}' is not a duration: write a whole number and a unit, such as 30d")
    })?;
    n.checked_mul(scale)
        .ok_or_else(|| anyhow::anyhow!("'{text}' is too long a duration"))
}

fn clock_settings(endpoint: Option<&str>) -> Result<keylab::backend::sdk::ClientSettings> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let endpoint = endpoint
        .map(str::to_string)
        .or_else(|| var("KEYLAB_HTTP_ENDPOINT"))
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|| "http://127.0.0.1:4510".into());
    let ca_pem = match (endpoint.starts_with("https://"), var("AWS_CA_BUNDLE")) {
        (true, Some(path)) => {
            Some(std::fs::read_to_string(&path).with_context(|| format!("AWS_CA_BUNDLE {path}"))?)
        }
        _ => None,
    };
    let missing = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an owner-account identity (`keylab engine serve` prints them; the lab shell sets them)";
    Ok(keylab::backend::sdk::ClientSettings {
        endpoint,
        region: var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.into()),
        access_key_id: var("AWS_ACCESS_KEY_ID").context(missing)?,
        secret_access_key: var("AWS_SECRET_ACCESS_KEY").context(missing)?,
        ca_pem,
        session_token: var("AWS_SESSION_TOKEN").filter(|t| !t.is_empty()),
    })
}

/// `keylab engine clock`.
pub fn clock(args: ClockArgs) -> Result<ExitCode> {
    let settings = clock_settings(args.endpoint.as_deref())?;
    let (operation, body) = match &args.action {
        ClockAction::Show => ("GetClock", json!({})),
        ClockAction::Advance { by } => ("AdvanceClock", json!({ "Seconds": parse_duration(by)? })),
        ClockAction::Set { time } => ("SetClock", json!({ "Time": time })),
    };
    let target = format!("{}{operation}", keylab_engine::admin::TARGET_PREFIX);
    let (status, answer) = runtime()?
        .block_on(keylab::backend::wire::call_json(
            &settings,
            keylab_engine::admin::SIGNING_NAME,
            &target,
            body.to_string().into_bytes(),
        ))
        .map_err(|e| anyhow::anyhow!("{e} (is `keylab engine serve` running there?)"))?;
    let value: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
    if status != 200 {
        let code = value["__type"].as_str().unwrap_or("Error");
        let message = value["Message"]
            .as_str()
            .or_else(|| value["message"].as_str())
            .unwrap_or("");
        bail!(
            "the engine at {} refused {operation}: {code}: {}",
            settings.endpoint,
            keylab::sanitize::line(message)
        );
    }
    let offset = value["OffsetSeconds"].as_i64().unwrap_or(0);
    outln!(
        "engine clock {} ({} ahead of real time)",
        value["Now"].as_str().unwrap_or("?"),
        describe_offset(offset)
    );
    if !matches!(args.action, ClockAction::Show) {
        outln!(
            "Sessions of assumed roles may have expired: the AWS CLI keeps role-profile sessions in ~/.aws/cli/cache until their real-time expiry, so remove that folder to assume the roles again."
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_offset(seconds: i64) -> String {
    let (d, rest) = (seconds / 86_400, seconds % 86_400);
    let (h, rest) = (rest / 3_600, rest % 3_600);
    let m = rest / 60;
    format!("{d}d {h}h {m}m")
}
