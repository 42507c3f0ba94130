"""Rules for the webhook URLs and addresses that the service may call, against server-side request forgery.

A URL is checked twice: its text when it is registered, and every address its host resolves to
right before each delivery, because DNS can point a public name at a private address later.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from functions.domain.errors import InvalidInputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Host names that always mean this machine or a cloud metadata service.
_LOCAL_HOST_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_METADATA_HOST_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data"})
# A DNS host name: labels of letters, digits and inner hyphens, at most 63 characters each.
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


@dataclass(frozen=True)
class UrlPolicy:
    """Checks of webhook targets.

    `allow_local` admits http:// and loopback addresses, for local runs and tests only. Private, link-local (the 169.254.169.254 metadata service included), shared, reserved and
    multicast addresses are rejected either way.
    """

    allow_local: bool = False

    def check_url(self, url: str) -> str:
        """Return the URL unchanged, or raise InvalidInputError saying what makes it unusable."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise _invalid(f"the url is invalid ({error}).", "URL 형식이 올바르지 않습니다.") from error

        allowed_schemes = ("https", "http") if self.allow_local else ("https",)
        if parts.scheme not in allowed_schemes:
            raise _invalid("the url must use the https scheme.", "URL은 https 스킴을 써야 합니다.")
        if not parts.hostname:
            raise _invalid("the url has no host.", "URL에 호스트가 없습니다.")
        if parts.username is not None or parts.password is not None:
            raise _invalid(
                "the url must not contain a user name or password; authenticate with the signature instead.",
                "URL에 사용자 이름이나 비밀번호를 넣을 수 없습니다. 인증은 서명으로 합니다.",
            )
        if parts.fragment:
            raise _invalid("the url must not contain a #fragment.", "URL에 #프래그먼트를 넣을 수 없습니다.")
        if port == 0:
            raise _invalid("the url's port must be from 1 to 65535.", "URL의 포트는 1에서 65535 사이여야 합니다.")
        if any(character.isspace() or ord(character) < 32 for character in url):
            raise _invalid(
                "the url must not contain spaces or control characters.",
                "URL에 공백이나 제어 문자를 넣을 수 없습니다.",
            )
        if not url.isascii():
            raise _invalid(
                "the url must be ASCII: percent-encode the path and write the host in its xn-- (punycode) form.",
                "URL은 ASCII여야 합니다. 경로는 퍼센트 인코딩하고 호스트는 xn--(퓨니코드) 형식으로 쓰세요.",
            )

        host = parts.hostname.rstrip(".").lower()
        address = literal_address(host)
        if address is not None:
            self.check_address(address)
        elif host in _LOCAL_HOST_NAMES or host.endswith(".localhost"):
            if not self.allow_local:
                raise _invalid(
                    f"the host {host} is this machine; use a public host name.",
                    f"호스트 {host}은(는) 이 서버 자신입니다. 공개 호스트 이름을 쓰세요.",
                )
        elif not _HOST_NAME.match(host) or host.rsplit(".", 1)[-1].isdigit():
            raise _invalid(
                f"the host {host} is neither a valid DNS name nor a valid IP address.",
                f"호스트 {host}은(는) 올바른 DNS 이름도 IP 주소도 아닙니다.",
            )
        elif host in _METADATA_HOST_NAMES:
            raise _invalid(
                f"the host {host} is a cloud metadata service.",
                f"호스트 {host}은(는) 클라우드 메타데이터 서비스입니다.",
            )
        elif "." not in host:
            raise _invalid(
                f"the host {host} is not a fully qualified domain name.",
                f"호스트 {host}은(는) 완전한 도메인 이름이 아닙니다.",
            )
        return url

    def check_address(self, address: IPAddress) -> None:
        """Raise InvalidInputError unless the service may connect to this address."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback:
            if self.allow_local:
                return
            raise _invalid(f"the address {address} is a loopback address.", f"주소 {address}은(는) 루프백 주소입니다.")
        if address.is_link_local:
            raise _invalid(
                f"the address {address} is link-local, the range of cloud metadata services.",
                f"주소 {address}은(는) 클라우드 메타데이터 서비스가 쓰는 링크 로컬 주소입니다.",
            )
        if not address.is_global or address.is_multicast:
            raise _invalid(
                f"the address {address} is private or reserved; use a public address.",
                f"주소 {address}은(는) 사설 또는 예약 주소입니다. 공개 주소를 쓰세요.",
            )


def literal_address(host: str) -> IPAddress | None:
    """Return the address that a host written as a number is, or None for a host name.

    Besides dotted IPv4 and IPv6, resolvers accept forms such as 2852039166 or 0xa9fea9fe for
    169.254.169.254, so anything inet_aton reads is treated as the address it reads as.
    """
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        packed = socket.inet_aton(host)
    except (OSError, UnicodeError, ValueError):
        return None
    return ipaddress.IPv4Address(packed)


def _invalid(problem: str, problem_ko: str) -> InvalidInputError:
    return InvalidInputError(problem, problem_ko=problem_ko, field="url")
