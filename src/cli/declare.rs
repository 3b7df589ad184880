//! The macro that makes the option table in `options.rs` the one place an
//! option is declared. From each entry it derives:
//!
//! - the field of `Config`, the resolved value (`T` when the entry has a
//!   default, else `Option<T>`);
//! - the field of `Settings`, one layer (personality, environment, command
//!   line) where every field is optional, with `over` to lay one layer over
//!   another and `resolve` to turn the result into a `Config`;
//! - for an entry with an option, a `Key`, `Key::set` to store a value into
//!   its field the way its kind says (`one`, `list`, `flag`, `count`,
//!   `bytes`, in `values.rs`), and its `OptionDoc` in `OPTIONS`, from which
//!   the parser looks options up and `doc.rs` writes `--help`, the man page
//!   and the environment table.
//!
//! Entries without an option (`new_session`) are settings a personality
//! sets; `modes` are options that are not settings (`--help`).

macro_rules! declare_options {
    (
        $(#[$config_meta:meta])*
        pub struct Config {
            $( $(#[$fixed_meta:meta])* pub $fixed:ident: $fixed_ty:ty, )*
        }
        $(
            $(#[$meta:meta])*
            pub $field:ident: $ty:ty $(= $default:expr)?
            $(=> $key:ident {
                $(short: $short:literal,)?
                long: $long:literal,
                $(value: $value:literal,)?
                parse: $kind:ident $(($parser:expr))?,
                section: $section:expr,
                help: $help:literal,
                env: $env:literal,
            })?,
        )*
        modes {
            $( $mode:ident {
                short: $mode_short:literal,
                long: $mode_long:literal,
                section: $mode_section:expr,
                help: $mode_help:literal,
            }, )*
        }
    ) => {
        $(#[$config_meta])*
        pub struct Config {
            $( $(#[$fixed_meta])* pub $fixed: $fixed_ty, )*
            $( $(#[$meta])* pub $field: declare_options!(@type $ty $(, $default)?), )*
        }

        /// One layer: what the personality, the environment or the command
        /// line said; None where it said nothing.
        #[derive(Debug, Clone, Default)]
        pub struct Settings {
            $( pub $field: Option<$ty>, )*
        }

        impl Settings {
            /// This layer over `lower`: each field that this one sets wins.
            // Swapped in place, so that what is left of `lower` is dropped
            // by one shared call rather than field by field at each layer.
            pub fn over(mut self, mut lower: Settings) -> Settings {
                $(
                    if self.$field.is_none() {
                        core::mem::swap(&mut self.$field, &mut lower.$field);
                    }
                )*
                self
            }

            /// The configuration, with the table's default where no layer
            /// said anything.
            pub fn resolve(self, $( $fixed: $fixed_ty, )*) -> Config {
                Config {
                    $( $fixed, )*
                    $( $field: declare_options!(@resolve self.$field $(, $default)?), )*
                }
            }
        }

        /// The settings that an option sets.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Key {
            $( $( $key, )? )*
        }

        impl Key {
            /// Stores `input` into this option's field of `settings`.
            pub fn set(self, settings: &mut Settings, input: Input) -> Result<(), String> {
                match self {
                    $( $(
                        Key::$key => values::$kind(&mut settings.$field, input $(, $parser)?),
                    )? )*
                }
            }
        }

        /// What an option does when given.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action {
            Set(Key),
            $( $mode, )*
        }

        /// grace's options, in the order `--help` shows them.
        pub const OPTIONS: &[OptionDoc] = &[
            $( $(
                OptionDoc {
                    action: Action::Set(Key::$key),
                    short: declare_options!(@some $($short)?),
                    long: $long,
                    value: declare_options!(@some $($value)?),
                    section: $section,
                    help: $help,
                    env_example: Some($env),
                },
            )? )*
            $(
                OptionDoc {
                    action: Action::$mode,
                    short: Some($mode_short),
                    long: $mode_long,
                    value: None,
                    section: $mode_section,
                    help: $mode_help,
                    env_example: None,
                },
            )*
        ];
    };
    (@type $ty:ty) => { Option<$ty> };
    (@type $ty:ty, $default:expr) => { $ty };
    (@resolve $value:expr) => { $value };
    (@resolve $value:expr, $default:expr) => { $value.unwrap_or_else(|| $default) };
    (@some) => { None };
    (@some $value:literal) => { Some($value) };
}
