//! Ingress checks: the Traefik the platform uses, its IngressClass, its entrypoints and how it is
//! exposed, and who serves LoadBalancer Services.

mod entrypoints;
mod exposure;
mod lb_provider;
pub mod providers;
mod single_stack;
#[cfg(test)]
pub(crate) mod testing;
pub mod traefik;
mod traefik_class;
mod traefik_ready;

pub use entrypoints::Entrypoints;
pub use exposure::Exposure;
pub use lb_provider::LbProvider;
pub use single_stack::SingleStack;
pub use traefik_class::TraefikClass;
pub use traefik_ready::TraefikReady;

use crate::Check;

/// The ingress checks in CHECKS.md row order.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(TraefikClass),
        Box::new(TraefikReady),
        Box::new(SingleStack),
        Box::new(Entrypoints),
        Box::new(Exposure),
        Box::new(LbProvider),
    ]
}
