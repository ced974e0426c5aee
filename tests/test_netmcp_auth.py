"""NetMCP auth: client-credentials tokens, their verification, and consent for untrusted agents."""

from __future__ import annotations

import asyncio
import logging
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from netmcp.auth import (
    NETMCP_REGISTER,
    NETWORK_ACT,
    NETWORK_READ,
    Authority,
    GrantRefused,
    TokenRejected,
    TokenVerifier,
    UnknownConsent,
)
from netmcp.consent import pkce_challenge
from tests.fake_clock import Clock

SECRET = "act-worker-secret-0123"
REDIRECT = "https://agent.example/callback"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def authority(clock: Clock) -> Authority:
    authority = Authority(issuer="test-authority", clock=clock)
    authority.add_client("act-worker", SECRET, [NETWORK_READ, NETWORK_ACT])
    return authority


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def rejection(verifier: TokenVerifier, token: str) -> TokenRejected:
    with pytest.raises(TokenRejected) as refused:
        verifier.check(token)
    return refused.value


# --- trusted clients: client credentials -----------------------------------------------------------

def test_a_client_credentials_token_verifies_and_carries_its_scopes(authority: Authority) -> None:
    grant = authority.issue("act-worker", SECRET, [NETWORK_READ])
    access = authority.verifier().check(grant.access_token)
    assert (grant.token_type, grant.expires_in, grant.scope) == ("Bearer", 900, NETWORK_READ)
    assert access.client_id == "act-worker"
    assert access.scopes == [NETWORK_READ]
    claims = jwt.decode(grant.access_token, options={"verify_signature": False})
    assert {"iss", "sub", "aud", "scope", "iat", "exp", "jti"} <= claims.keys()
    assert (claims["iss"], claims["aud"]) == ("test-authority", "netmcp")


def test_a_client_that_names_no_scopes_gets_all_of_its_own(authority: Authority) -> None:
    grant = authority.issue("act-worker", SECRET, None)
    assert sorted(grant.scope.split()) == [NETWORK_ACT, NETWORK_READ]


def test_the_verifier_satisfies_the_sdk_protocol_returning_none_for_a_refused_token(
        authority: Authority) -> None:
    grant = authority.issue("act-worker", SECRET, None)
    verifier = authority.verifier()
    good = asyncio.run(verifier.verify_token(grant.access_token))
    assert good is not None and good.client_id == "act-worker"
    assert asyncio.run(verifier.verify_token("not-a-token")) is None


def test_a_wrong_secret_is_refused_and_the_log_names_the_client_not_the_secret(
        authority: Authority, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "guessed-secret-0123456"
    with caplog.at_level(logging.WARNING, logger="netloop.netmcp.auth"), \
            pytest.raises(GrantRefused) as refused:
        authority.issue("act-worker", wrong, None)
    assert refused.value.error == "invalid_client"
    assert "client=act-worker" in caplog.text and "wrong secret" in caplog.text
    assert wrong not in caplog.text and SECRET not in caplog.text


def test_an_unknown_client_is_refused_like_a_wrong_secret(authority: Authority) -> None:
    with pytest.raises(GrantRefused) as refused:
        authority.issue("nobody", SECRET, None)
    assert refused.value.error == "invalid_client"


def test_a_scope_the_client_lacks_cannot_be_requested(authority: Authority) -> None:
    with pytest.raises(GrantRefused) as refused:
        authority.issue("act-worker", SECRET, [NETWORK_READ, NETMCP_REGISTER])
    assert refused.value.error == "invalid_scope"
    assert NETMCP_REGISTER in refused.value.description


def test_a_client_cannot_be_trusted_with_a_scope_outside_the_vocabulary(authority: Authority) -> None:
    with pytest.raises(ValueError, match="network:write"):
        authority.add_client("typo", SECRET, ["network:write"])


# --- verification --------------------------------------------------------------------------------

def test_an_expired_token_is_refused_with_reason_expired(authority: Authority, clock: Clock,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    grant = authority.issue("act-worker", SECRET, None)
    verifier = authority.verifier()
    clock.now += 900
    assert verifier.check(grant.access_token).client_id == "act-worker"  # valid to the last second
    clock.now += 1
    with caplog.at_level(logging.WARNING, logger="netloop.netmcp.auth"):
        assert rejection(verifier, grant.access_token).reason == "expired"
    assert "client=act-worker reason=expired" in caplog.text
    assert grant.access_token not in caplog.text


def test_a_token_signed_by_another_key_is_refused_as_a_bad_signature(clock: Clock) -> None:
    impostor = Authority(issuer="test-authority", clock=clock)
    impostor.add_client("act-worker", SECRET, [NETWORK_ACT])
    genuine = Authority(issuer="test-authority", clock=clock)
    forged = impostor.issue("act-worker", SECRET, None).access_token
    assert rejection(genuine.verifier(), forged).reason == "bad_signature"


def test_a_tampered_token_is_refused_as_a_bad_signature(authority: Authority) -> None:
    header, _, signature = authority.issue("act-worker", SECRET, [NETWORK_READ]).access_token.split(".")
    other = authority.issue("act-worker", SECRET, None).access_token.split(".")[1]
    assert rejection(authority.verifier(), f"{header}.{other}.{signature}").reason == "bad_signature"


def test_a_token_of_another_issuer_or_audience_is_refused_saying_which(authority: Authority,
                                                                      clock: Clock) -> None:
    token = authority.issue("act-worker", SECRET, None).access_token
    jwks = authority.jwks()
    assert rejection(TokenVerifier(jwks, issuer="elsewhere", clock=clock), token).reason == "wrong_issuer"
    assert rejection(TokenVerifier(jwks, issuer="test-authority", audience="billing", clock=clock),
                     token).reason == "wrong_audience"


def test_a_verifier_on_another_host_tolerates_clock_skew_up_to_its_leeway(authority: Authority,
                                                                         clock: Clock) -> None:
    token = authority.issue("act-worker", SECRET, None).access_token
    behind = Clock(clock.now - 10)  # this host's clock is 10 s slow: the token looks issued in the future
    tolerant = TokenVerifier(authority.jwks(), issuer="test-authority", clock=behind)
    assert tolerant.check(token).client_id == "act-worker"
    strict = TokenVerifier(authority.jwks(), issuer="test-authority", clock=behind, leeway_s=0)
    assert rejection(strict, token).reason == "not_yet_valid"


def test_a_malformed_token_is_refused_as_malformed(authority: Authority) -> None:
    verifier = authority.verifier()
    assert rejection(verifier, "not-a-token").reason == "malformed"
    unsigned = jwt.encode({"sub": "x"}, key=None, algorithm="none")
    assert rejection(verifier, unsigned).reason == "bad_signature"  # alg none is never accepted


def test_a_verifier_built_from_the_jwk_set_accepts_the_authority_s_tokens(authority: Authority,
                                                                          clock: Clock) -> None:
    verifier = TokenVerifier(authority.jwks(), issuer="test-authority", clock=clock)
    grant = authority.issue("act-worker", SECRET, None)
    assert verifier.check(grant.access_token).scopes == grant.scope.split()
    assert authority.jwks()["keys"][0] | {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA"} \
        == authority.jwks()["keys"][0]


def test_an_authority_restarted_from_its_pem_key_signs_tokens_old_verifiers_accept(
        authority: Authority, clock: Clock) -> None:
    restarted = Authority(issuer="test-authority", clock=clock, private_key_pem=authority.private_key_pem())
    restarted.add_client("act-worker", SECRET, [NETWORK_READ])
    token = restarted.issue("act-worker", SECRET, None).access_token
    assert authority.verifier().check(token).client_id == "act-worker"


# --- untrusted agents: authorization code with consent and PKCE -----------------------------------

@pytest.fixture
def agent(authority: Authority) -> tuple[str, str]:
    return authority.register_agent("helpful-llm", REDIRECT, [NETWORK_READ])


def ask(authority: Authority, client_id: str, verifier: str, state: str = "s-1") -> str:
    """File a consent request for network:read; its id."""
    request = authority.authorize(client_id, REDIRECT, [NETWORK_READ], state, pkce_challenge(verifier))
    return request.consent_id


def test_an_untrusted_agent_cannot_use_client_credentials(authority: Authority,
                                                          agent: tuple[str, str]) -> None:
    client_id, secret = agent
    with pytest.raises(GrantRefused) as refused:
        authority.issue(client_id, secret, [NETWORK_READ])
    assert refused.value.error == "unauthorized_client"


def test_an_agent_gets_a_token_only_after_a_human_approves_its_consent(
        authority: Authority, agent: tuple[str, str]) -> None:
    client_id, secret = agent
    verifier = secrets.token_urlsafe(48)
    consent_id = ask(authority, client_id, verifier, state="xyz")
    [pending] = authority.pending()
    assert pending.consent_id == consent_id
    assert "helpful-llm" in pending.text and NETWORK_READ in pending.text
    redirect = authority.approve(consent_id)
    assert redirect.startswith(REDIRECT + "?")
    answer = query_of(redirect)
    assert answer["state"] == "xyz"
    grant = authority.exchange_code(client_id, secret, answer["code"], verifier, REDIRECT)
    access = authority.verifier().check(grant.access_token)
    assert (access.client_id, access.scopes) == (client_id, [NETWORK_READ])
    assert authority.pending() == []


def test_a_denied_consent_yields_no_code(authority: Authority, agent: tuple[str, str]) -> None:
    client_id, _ = agent
    consent_id = ask(authority, client_id, secrets.token_urlsafe(48))
    answer = query_of(authority.deny(consent_id))
    assert answer == {"error": "access_denied", "state": "s-1"}
    assert authority.pending() == []
    with pytest.raises(UnknownConsent):
        authority.approve(consent_id)


def test_a_code_cannot_be_used_twice(authority: Authority, agent: tuple[str, str]) -> None:
    client_id, secret = agent
    verifier = secrets.token_urlsafe(48)
    code = query_of(authority.approve(ask(authority, client_id, verifier)))["code"]
    authority.exchange_code(client_id, secret, code, verifier, REDIRECT)
    with pytest.raises(GrantRefused) as refused:
        authority.exchange_code(client_id, secret, code, verifier, REDIRECT)
    assert refused.value.error == "invalid_grant"


def test_a_pkce_verifier_mismatch_is_refused_and_burns_the_code(authority: Authority,
                                                                agent: tuple[str, str]) -> None:
    client_id, secret = agent
    verifier = secrets.token_urlsafe(48)
    code = query_of(authority.approve(ask(authority, client_id, verifier)))["code"]
    with pytest.raises(GrantRefused, match="code_verifier"):
        authority.exchange_code(client_id, secret, code, secrets.token_urlsafe(48), REDIRECT)
    with pytest.raises(GrantRefused, match="already used"):
        authority.exchange_code(client_id, secret, code, verifier, REDIRECT)


def test_a_code_expires_a_minute_after_approval(authority: Authority, agent: tuple[str, str],
                                                clock: Clock) -> None:
    client_id, secret = agent
    verifier = secrets.token_urlsafe(48)
    code = query_of(authority.approve(ask(authority, client_id, verifier)))["code"]
    clock.now += 61
    with pytest.raises(GrantRefused) as refused:
        authority.exchange_code(client_id, secret, code, verifier, REDIRECT)
    assert refused.value.error == "invalid_grant"


def test_a_consent_request_nobody_answers_lapses(authority: Authority, agent: tuple[str, str],
                                                 clock: Clock) -> None:
    consent_id = ask(authority, agent[0], secrets.token_urlsafe(48))
    clock.now += 601
    assert authority.pending() == []
    with pytest.raises(UnknownConsent):
        authority.approve(consent_id)


@pytest.mark.parametrize(("redirect_uri", "scopes", "method", "named"), [
    ("https://evil.example/cb", [NETWORK_READ], "S256", "redirect_uri"),
    (REDIRECT, [NETWORK_ACT], "S256", NETWORK_ACT),
    (REDIRECT, [NETWORK_READ], "plain", "code_challenge"),
])
def test_an_authorization_request_beyond_the_agent_s_registration_is_refused(
        authority: Authority, agent: tuple[str, str], redirect_uri: str, scopes: list[str], method: str,
        named: str) -> None:
    challenge = pkce_challenge(secrets.token_urlsafe(48))
    with pytest.raises(GrantRefused, match=named):
        authority.authorize(agent[0], redirect_uri, scopes, "s", challenge, method)
    assert authority.pending() == []


@pytest.mark.parametrize("uri", ["http://agent.example/cb", "/relative", "https://agent.example/cb#frag"])
def test_an_agent_must_register_an_absolute_https_redirect_uri(authority: Authority, uri: str) -> None:
    with pytest.raises(GrantRefused) as refused:
        authority.register_agent("agent", uri, [NETWORK_READ])
    assert refused.value.error == "invalid_redirect_uri"


def test_an_agent_on_loopback_may_use_plain_http(authority: Authority) -> None:
    client_id, _ = authority.register_agent("local", "http://127.0.0.1:8123/cb", [NETWORK_READ])
    assert client_id.startswith("agent-")
