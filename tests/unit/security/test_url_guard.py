"""The URL guard: every spelling of a non-public address is refused, public ones pass."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from luminamind.errors import ToolExecutionError, UrlBlockedError
from luminamind.security.url_guard import UrlGuard, blocked_reason, parse_ip_host

GUARD = UrlGuard()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),  # decimal
        ("0x7f000001", "127.0.0.1"),  # hex
        ("0X7F.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),  # short forms
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),  # trailing dot
        ("0", "0.0.0.0"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("example.com", None),
        ("0x.example.com", None),
    ],
)
def test_ip_spellings(host: str, expected: str | None) -> None:
    result = parse_ip_host(host)
    assert (str(result) if result else None) == expected


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.0.0.1", "0x1ffffffff", "08.0.0.1", "a.b.99"])
def test_hosts_ending_in_a_number_must_be_valid_ipv4(host: str) -> None:
    with pytest.raises(UrlBlockedError, match="ends in a number"):
        parse_ip_host(host)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),
        ("http://0x7f.1/", "loopback"),
        ("http://[::1]:8080/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", r"loopback address \(127\.0\.0\.1\) inside an IPv6"),
        ("http://[::ffff:a9fe:a9fe]/", "cloud metadata"),
        ("http://[64:ff9b::a9fe:a9fe]/", "cloud metadata"),  # NAT64
        ("http://[2002:c0a8:0101::1]/", "private"),  # 6to4 around 192.168.1.1
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://100.100.100.200/", "cloud metadata"),
        ("http://168.63.129.16/", "cloud metadata"),  # Azure: a public address, still refused
        ("http://169.254.1.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://[fc00::1]/", "private"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://100.127.255.254/", "carrier-grade NAT"),
        ("http://224.0.0.251/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://240.0.0.1/", "private|reserved"),
        ("http://255.255.255.255/", "private|reserved"),
        ("http://198.18.0.1/", "private"),  # benchmarking range
    ],
)
async def test_non_public_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UrlBlockedError, match=reason):
        await GUARD.check(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/file", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("gopher://127.0.0.1:6379/_INFO", "only http:// and https://"),
        ("javascript:alert(1)", "only http:// and https://"),
        ("//example.com/x", "no scheme"),
        ("http://user:secret@example.com/", "credentials"),
        ("http://example.com@10.0.0.1/", "credentials"),
        ("http://@example.com/", "credentials"),
        ("http:///path", "no host"),
        ("http://exa mple.com/", "whitespace"),
        ("http://example.com/\r\nHost: evil", "control characters"),
        ("http://%31%32%37.0.0.1/", "contains '%'"),
        ("http://[fe80::1%25eth0]/", "contains '%'"),
        ("http://example.com:99999/", "not a valid URL"),
        ("http://" + "a" * 9000 + ".com/", "8192"),
    ],
)
async def test_malformed_and_dangerous_urls(url: str, message: str) -> None:
    with pytest.raises(UrlBlockedError, match=message):
        await GUARD.check(url)


def test_credentials_never_appear_in_the_message() -> None:
    with pytest.raises(UrlBlockedError) as info:
        GUARD.check_syntax("https://admin:hunter2@example.com/")
    assert "hunter2" not in info.value.message


async def test_public_addresses_pass_and_are_normalised() -> None:
    ok = await GUARD.check("HTTP://93.184.215.14:8080/a b".replace(" ", "%20") + "#frag")
    assert ok.url == "http://93.184.215.14:8080/a%20b"
    assert ok.addresses == (ipaddress.ip_address("93.184.215.14"),)
    assert ok.port == 8080
    v6 = await GUARD.check("https://[2606:4700:4700::1111]/")
    assert v6.host == "2606:4700:4700::1111"
    assert v6.port == 443
    # A decimal spelling of a public address is rewritten to the dotted form httpx accepts.
    assert (await GUARD.check("http://134744072/")).url == "http://8.8.8.8/"


def test_idna_hosts_are_encoded() -> None:
    url, host, _port, ip = GUARD.check_syntax("https://Bücher.example/straße")
    assert host == "xn--bcher-kva.example"
    assert url.startswith("https://xn--bcher-kva.example/")
    assert ip is None


async def test_allowlist_by_address_cidr_name_and_wildcard() -> None:
    assert (await UrlGuard(["127.0.0.1"]).check("http://127.0.0.1:1/")).host == "127.0.0.1"
    assert await UrlGuard(["10.0.0.0/8"]).check("http://10.9.8.7/")
    with pytest.raises(UrlBlockedError):
        await UrlGuard(["10.0.0.0/8"]).check("http://192.168.1.1/")
    assert (await UrlGuard(["localhost"]).check("http://LOCALHOST:9/")).host == "localhost"
    # The name allowlist does not open the addresses: 127.0.0.1 written out is still refused.
    with pytest.raises(UrlBlockedError):
        await UrlGuard(["localhost"]).check("http://127.0.0.1/")
    wildcard = UrlGuard(["*.localhost"])
    assert wildcard._name_allowed("api.localhost")  # no resolver here knows such names
    with pytest.raises(UrlBlockedError):
        await wildcard.check("http://localhost/")


async def test_names_resolving_to_loopback_are_refused() -> None:
    with pytest.raises(UrlBlockedError, match="'localhost' resolves to"):
        await GUARD.check("http://localhost/")


async def test_unresolvable_names_are_a_tool_error() -> None:
    with pytest.raises(ToolExecutionError, match=r"cannot resolve host 'no-such-host\.invalid'"):
        await GUARD.check("http://no-such-host.invalid/")


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_ipv4_spelling_is_judged_like_the_dotted_form(number: int) -> None:
    dotted = ipaddress.IPv4Address(number)
    spellings = [str(number), hex(number), "0" + oct(number)[2:] if number else "0"]
    a, b, c, d = dotted.packed
    spellings += [f"{a}.{(b << 16) + (c << 8) + d}", f"{a:#o}.{b:#x}.{c}.{d}".replace("0o", "0")]
    for host in spellings:
        assert parse_ip_host(host) == dotted, host
    mapped = ipaddress.IPv6Address(f"::ffff:{dotted}")
    assert (blocked_reason(mapped) is None) == (blocked_reason(dotted) is None)
