//! Who is calling: bearer tokens (and, on the legacy URL only, basic auth or a `token`
//! query parameter) resolved to the agent they belong to.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::config::AgentConfig;
use crate::error::ApiError;
use crate::token::TokenHash;

/// An authenticated agent: the extension that rings first is always theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// The configured name.
    pub name: String,
    /// The agent's extension.
    pub extension: String,
}

/// The agents of the configuration, indexed by the hash of their token.
#[derive(Debug, Default)]
pub struct Agents {
    by_token: HashMap<TokenHash, Arc<Agent>>,
}

impl Agents {
    /// Indexes the configured agents.
    pub fn new(agents: &[AgentConfig]) -> Agents {
        let mut index = Agents::default();
        for a in agents {
            let agent = Arc::new(Agent {
                name: a.name.clone(),
                extension: a.extension.clone(),
            });
            index.by_token.insert(a.token_hash.clone(), agent);
        }
        index
    }

    /// The agent whose token this is.
    pub fn by_token(&self, token: &str) -> Option<Arc<Agent>> {
        self.by_token.get(&TokenHash::of(token)).cloned()
    }

    /// Authenticates a request by its `Authorization: Bearer <token>` header.
    pub fn bearer(&self, headers: &HeaderMap) -> Result<Arc<Agent>, ApiError> {
        let value = headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized(
                "missing Authorization header; send `Authorization: Bearer <token>`",
            )
        })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?;
        self.by_token(token)
            .ok_or_else(|| ApiError::unauthorized("the token is not valid for any agent"))
    }

    /// Authenticates a legacy request: HTTP basic auth (user = agent name, password =
    /// token), a bearer token, or a `token` query parameter, in that order.
    pub fn legacy(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
    ) -> Result<Arc<Agent>, ApiError> {
        if let Some(basic) = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        {
            let decoded = STANDARD
                .decode(basic.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| ApiError::unauthorized("malformed basic authorization"))?;
            let (user, password) = decoded
                .split_once(':')
                .ok_or_else(|| ApiError::unauthorized("malformed basic authorization"))?;
            return self
                .by_token(password)
                .filter(|agent| agent.name == user)
                .ok_or_else(|| ApiError::unauthorized("wrong agent name or token"));
        }
        if headers.contains_key(AUTHORIZATION) {
            return self.bearer(headers);
        }
        let token = query_token.ok_or_else(|| {
            ApiError::unauthorized(
                "authenticate with basic auth (agent name, token), a bearer token or ?token=",
            )
        })?;
        self.by_token(token)
            .ok_or_else(|| ApiError::unauthorized("the token is not valid for any agent"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const TOKEN: &str = "tok-ana-0123456789abcdefghij";

    fn agents() -> Agents {
        Agents::new(&[AgentConfig {
            name: "ana".into(),
            extension: "10".into(),
            token_hash: TokenHash::of(TOKEN),
        }])
    }

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn bearer_token_finds_its_agent() {
        let agent = agents()
            .bearer(&headers(&format!("Bearer {TOKEN}")))
            .unwrap();
        assert_eq!(
            (agent.name.as_str(), agent.extension.as_str()),
            ("ana", "10")
        );
        let missing = agents().bearer(&HeaderMap::new()).unwrap_err();
        assert!(missing.message.contains("missing Authorization"));
        let wrong = agents().bearer(&headers("Bearer nope")).unwrap_err();
        assert_eq!(wrong.code, "unauthorized");
        let basic = agents().bearer(&headers("Basic YW5hOng=")).unwrap_err();
        assert!(basic.message.contains("Bearer <token>"));
    }

    #[test]
    fn legacy_accepts_basic_bearer_or_query_token() {
        // "ana:tok-ana-0123456789abcdefghij"
        let basic = "Basic YW5hOnRvay1hbmEtMDEyMzQ1Njc4OWFiY2RlZmdoaWo=";
        assert_eq!(agents().legacy(&headers(basic), None).unwrap().name, "ana");
        // "bob:tok-ana-..." names another agent with ana's token.
        let other_user = "Basic Ym9iOnRvay1hbmEtMDEyMzQ1Njc4OWFiY2RlZmdoaWo=";
        assert!(agents().legacy(&headers(other_user), None).is_err());
        assert!(agents().legacy(&headers("Basic !!!"), None).is_err());
        let bearer = headers(&format!("Bearer {TOKEN}"));
        assert_eq!(
            agents().legacy(&bearer, Some("ignored")).unwrap().name,
            "ana"
        );
        assert_eq!(
            agents()
                .legacy(&HeaderMap::new(), Some(TOKEN))
                .unwrap()
                .name,
            "ana"
        );
        assert!(agents().legacy(&HeaderMap::new(), Some("wrong")).is_err());
        assert!(agents().legacy(&HeaderMap::new(), None).is_err());
    }
}
