"""Which mailbox an e-mail address reaches (docs/outside-approvers.md, "Who may be invited").

Two spellings of one mailbox must compare equal, or an author who may invite sends the link to
their own mailbox under another spelling and approves their own post. `mailbox_key` folds every
spelling that standard mail systems deliver to the same mailbox:

* case, Unicode case and compatibility forms (NFKC, then casefold) of the local part and domain;
* a quoted local part (`"dana"@…` is `dana@…`, escapes undone);
* a sub-address after `+` (`dana+legal@…`): Gmail, Outlook/Microsoft 365, Fastmail, iCloud,
  Proton, Exchange and Postfix's default `recipient_delimiter` all deliver it to `dana@…`;
* the domain in its ASCII (IDNA, UTS #46) form, without a trailing dot;
* for the providers in DOTLESS_PROVIDERS only (Gmail), dots in the local part, and
  googlemail.com is gmail.com. Elsewhere a dot is part of the name (`j.smith` ≠ `jsmith`).

What no spelling rule can see: a second mailbox the same person controls (another provider, an
alias their mail administrator made, a forwarding rule). That is why a lane can require a staff
member's confirmation of every outside decision (Lane.outside_needs_staff_confirmation)."""
from __future__ import annotations

import unicodedata

import idna
from django.conf import settings

#: Providers that ignore dots in the local part, and the domain each alias stands for.
DOTLESS_PROVIDERS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}

#: Public mail providers: a staff member's address there does not make the domain the
#: organisation's own (staff_domains).
PUBLIC_PROVIDERS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
    "yahoo.ca", "yahoo.fr", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com",
    "gmx.com", "gmx.net", "mail.com", "fastmail.com", "zoho.com", "yandex.com", "videotron.ca",
    "sympatico.ca", "bell.net", "rogers.com", "shaw.ca", "telus.net", "orange.fr", "free.fr",
    "laposte.net", "sfr.fr", "wanadoo.fr",
})


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _unquote(local: str) -> str:
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        inner, out, escaped = local[1:-1], [], False
        for ch in inner:
            if escaped or ch != "\\":
                out.append(ch)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return local


def domain_key(domain: str) -> str:
    """The domain's ASCII form, folded (IDNA UTS #46; a domain IDNA refuses stays folded)."""
    domain = _fold(domain.strip()).rstrip(".")
    try:
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        return domain


def mailbox_key(address: str) -> str:
    """The mailbox `address` reaches, as one comparable string (local@domain)."""
    address = address.strip()
    local, sep, domain = address.rpartition("@")
    if not sep:
        return _fold(address)
    local = _fold(_unquote(local))
    local = local.split("+", 1)[0] or local
    domain = domain_key(domain)
    if domain in DOTLESS_PROVIDERS:
        domain = DOTLESS_PROVIDERS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def staff_domains(addresses: list[str]) -> set[str]:
    """The organisation's own mail domains: those of its active staff's addresses, less the
    public providers (a staff member's personal Gmail does not make Gmail the organisation's)
    and the domains the operator says several organisations share (OUTSIDE_SHARED_DOMAINS)."""
    shared = {domain_key(d) for d in getattr(settings, "OUTSIDE_SHARED_DOMAINS", []) or [] if d.strip()}
    out = set()
    for address in addresses:
        if "@" in address:
            domain = mailbox_key(address).rpartition("@")[2]
            if domain and domain not in PUBLIC_PROVIDERS and domain not in DOTLESS_PROVIDERS and domain not in shared:
                out.add(domain)
    return out
