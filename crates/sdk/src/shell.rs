//! `client_shell!`: the struct, constructors and driver hook shared by the four clients
//! (async and blocking, Intel and SovX), written once.

/// Declares `Client` for one API and one driver. The typed methods come from
/// `intel_methods!` / `sx_methods!`; `io!` must be defined at the call site.
macro_rules! client_shell {
    (
        $(#[$doc:meta])*
        transport: $transport:ident,
        new_transport: |$b:ident| $make:expr,
        config: $config:path,
        builder: $builder:ident,
        build: $build:ident,
        run: $run:path,
        env: $env:literal,
        drive: [$($async:ident)?],
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct Client {
            config: std::sync::Arc<$config>,
            transport: std::sync::Arc<dyn $transport>,
        }

        impl std::fmt::Debug for Client {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("Client").field("config", &self.config).finish_non_exhaustive()
            }
        }

        impl Client {
            /// A builder with the documented defaults.
            pub fn builder() -> $builder {
                $builder::new()
            }

            #[doc = concat!("A client configured from the environment: ", $env, ".")]
            pub fn from_env() -> Result<Client, crate::Error> {
                $builder::from_env().$build()
            }

            pub(crate) fn from_builder($b: $builder) -> Result<Client, crate::Error> {
                let transport = $make;
                Self::with_transport($b, std::sync::Arc::new(transport))
            }

            /// A client on a transport of your own (a configured client, a mock, …).
            pub fn with_transport(builder: $builder, transport: std::sync::Arc<dyn $transport>) -> Result<Client, crate::Error> {
                Ok(Client {
                    config: std::sync::Arc::new(builder.config()?),
                    transport,
                })
            }

            /// The validated configuration.
            pub fn config(&self) -> &$config {
                &self.config
            }

            $($async)? fn drive<E: sova_protocol::Endpoint>(
                &self,
                machine: crate::call::CallMachine<'_, E>,
            ) -> Result<crate::call::Paid<E::Output>, crate::Error> {
                io!($run(machine, self.transport.as_ref()))
            }
        }
    };
}

pub(crate) use client_shell;
