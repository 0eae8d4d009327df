//! How the registry knows an operator: [`OperatorSpec`] gives its name, earlier names, typed
//! parameters and constructor, and [`OperatorIdentity`] derives from it the `name()` and
//! `params()` that every [`Operator`](crate::Operator) answers, so no operator writes them.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{OperatorError, Result};

/// How the registry knows an operator: its name, its parameters type and its constructor.
pub trait OperatorSpec: Sized + 'static {
    /// The name pipeline files use, e.g. `dedup.minhash`.
    const NAME: &'static str;
    /// Earlier names that still work in pipeline files (resolved to NAME).
    const ALIASES: &'static [&'static str] = &[];
    /// Parameters that name files; the pipeline resolves relative ones against the pipeline
    /// file's folder.
    const PATH_PARAMS: &'static [&'static str] = &[];
    type Params: Serialize + DeserializeOwned;

    /// Builds the operator from checked-by-serde parameters (range checks go here).
    fn with_params(params: Self::Params) -> Result<Self>;

    fn typed_params(&self) -> &Self::Params;

    /// The parameters as the stage cache key sees them (default: `typed_params` as JSON).
    fn params_json(&self) -> serde_json::Value {
        serde_json::to_value(self.typed_params()).expect("params serialize")
    }

    /// Parses JSON parameters (null = all defaults; unknown keys rejected, naming the
    /// operator) and builds.
    fn from_json(params: &serde_json::Value) -> Result<Self> {
        Self::with_params(parse_params(Self::NAME, params)?)
    }
}

/// What every operator answers about itself; implemented once, for every [`OperatorSpec`].
pub trait OperatorIdentity {
    /// The registry name, e.g. `dedup.exact` (never an alias).
    fn name(&self) -> &'static str;

    /// Parameters after defaults, as JSON; part of the stage's cache key.
    fn params(&self) -> serde_json::Value;
}

impl<T: OperatorSpec> OperatorIdentity for T {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn params(&self) -> serde_json::Value {
        self.params_json()
    }
}

/// Parses operator parameters, rejecting unknown keys with the operator's name.
pub fn parse_params<T: DeserializeOwned>(operator: &str, params: &serde_json::Value) -> Result<T> {
    let value = if params.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        params.clone()
    };
    serde_json::from_value(value).map_err(|e| OperatorError::params(operator, e))
}
