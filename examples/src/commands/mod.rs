//! One module per subcommand.

pub mod audit;
pub mod connect;
pub mod credentials;
pub mod demo;
pub mod init;
pub mod lifecycle;
pub mod pairs;
pub mod probe;
pub mod reconcile;
pub mod replay;
pub mod run;
pub mod runs;
pub mod sync;
pub mod worker;
