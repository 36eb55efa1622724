//! debugpy's `variablePresentation`: how special (dunder), function, class and protected
//! members are shown: in a group of their own, inline, or not at all.

use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::protocol::types::VariablePresentation;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Group,
    Inline,
    Hide,
}

impl Mode {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "group" => Ok(Mode::Group),
            "inline" => Ok(Mode::Inline),
            "hide" => Ok(Mode::Hide),
            other => Err(format!("variablePresentation: {other:?} is not group, inline or hide")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Special,
    Function,
    Class,
    Protected,
    Plain,
}

impl Kind {
    pub fn of_name(name: &str) -> Kind {
        if name.starts_with("__") && name.ends_with("__") {
            Kind::Special
        } else if name.starts_with('_') {
            Kind::Protected
        } else {
            Kind::Plain
        }
    }

    pub fn of(name: &str, value: &Bound<'_, PyAny>) -> Kind {
        match Kind::of_name(name) {
            Kind::Special => Kind::Special,
            by_name => {
                if value.is_instance_of::<PyType>() {
                    Kind::Class
                } else if value.is_callable() {
                    Kind::Function
                } else {
                    by_name
                }
            }
        }
    }

    pub fn group_label(self) -> &'static str {
        match self {
            Kind::Special => "special variables",
            Kind::Function => "function variables",
            Kind::Class => "class variables",
            Kind::Protected => "protected variables",
            Kind::Plain => "variables",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Presentation {
    pub special: Mode,
    pub function: Mode,
    pub class: Mode,
    pub protected: Mode,
}

/// debugpy's defaults: groups for special, function and class members; protected ones inline.
const DEFAULT: Presentation =
    Presentation { special: Mode::Group, function: Mode::Group, class: Mode::Group, protected: Mode::Inline };

impl Default for Presentation {
    fn default() -> Self {
        DEFAULT
    }
}

impl Presentation {
    pub fn mode(&self, kind: Kind) -> Mode {
        match kind {
            Kind::Special => self.special,
            Kind::Function => self.function,
            Kind::Class => self.class,
            Kind::Protected => self.protected,
            Kind::Plain => Mode::Inline,
        }
    }

    /// From the attach arguments; `all` sets every kind, the others override it.
    pub fn from_arguments(settings: &VariablePresentation) -> Result<Presentation, String> {
        let all = settings.all.as_deref().map(Mode::parse).transpose()?;
        let pick = |s: &Option<String>, default: Mode| -> Result<Mode, String> {
            Ok(s.as_deref().map(Mode::parse).transpose()?.or(all).unwrap_or(default))
        };
        Ok(Presentation {
            special: pick(&settings.special, DEFAULT.special)?,
            function: pick(&settings.function, DEFAULT.function)?,
            class: pick(&settings.class, DEFAULT.class)?,
            protected: pick(&settings.protected, DEFAULT.protected)?,
        })
    }
}
