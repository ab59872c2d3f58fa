"""Filters of the H-CMP roles.

Mostly which packages a host gets, under which distribution names: the table
(hcmp_packages_table in the hcmp_packages role's defaults) maps each piece of software to the
groups whose hosts get it and, per distribution, to its package (and service). These filters
only read it; they return the table's own values and the user's own strings (still marked
unsafe), never text built from them.
"""

import re

# A distribution package name (Debian policy; RPM names are a subset in practice). Picks that are
# not in the table are installed under their own name, so they must look like one: never an
# option ("-o..."), never a path, never a template.
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]{0,99}$")


def _hosts_of(groups, names):
    hosts = []
    for name in names or []:
        for host in groups.get(name) or []:
            if host not in hosts:
                hosts.append(host)
    return hosts


def hcmp_unshipped(picks, table):
    """The picks the table says no distribution ships (they need a repository and a role)."""
    table = table if isinstance(table, dict) else {}
    return [p for p in _unique(picks) if isinstance(table.get(p), dict) and table[p].get("unavailable")]


def hcmp_bad_names(picks, table):
    """The picks that are not in the table and do not look like a package name."""
    table = table if isinstance(table, dict) else {}
    return [p for p in _unique(picks) if p not in table and not PACKAGE_NAME.match(str(p))]


def hcmp_host_packages(table, picks, host, groups, distro_keys):
    """What `host` installs: a dict with
    - packages: [{key, name, service?, setup?, setup_creates?}]: first the software H-CMP runs
      itself on the host's groups (entries whose `builtin` groups hold the host, in table order),
      then every pick that lands on the host (in the order picked);
    - unpackaged: the keys this host needs that the table has no package for on its distribution
      (the first of `distro_keys` an entry has applies).

    A pick lands on the hosts of its entry's `groups`; when no host is in any of them, on those of
    its `fallback` groups; when none there either (or the entry names no groups, or the pick is
    not in the table), on every host of the project.
    """
    table = table if isinstance(table, dict) else {}
    groups = groups if isinstance(groups, dict) else {}
    every_host = groups.get("hcmp_hosts") or []
    wanted = []
    for key, entry in table.items():
        if isinstance(entry, dict) and host in _hosts_of(groups, entry.get("builtin")):
            wanted.append(key)
    for pick in _unique(picks):
        entry = table.get(pick)
        if not isinstance(entry, dict):
            targets = every_host
        else:
            targets = _hosts_of(groups, entry.get("groups")) or _hosts_of(groups, entry.get("fallback")) or every_host
        if host in targets and pick not in wanted:
            wanted.append(pick)

    packages, unpackaged = [], []
    for key in wanted:
        entry = table.get(key)
        if not isinstance(entry, dict):
            packages.append({"key": key, "name": key})
            continue
        spec = next((entry[k] for k in distro_keys if isinstance(entry.get(k), dict)), None)
        if spec is None or not spec.get("name"):
            unpackaged.append(key)
            continue
        item = dict(spec)
        item["key"] = key
        packages.append(item)
    return {"packages": packages, "unpackaged": unpackaged}


def hcmp_unit_state(status):
    """What the state file keeps of a unit, from the `status` the systemd module returns (as it
    was before the module changed anything): whether it was active and whether it was enabled."""
    status = status or {}
    return {
        "active": status.get("ActiveState") == "active",
        "enabled": status.get("UnitFileState") == "enabled",
    }


def _unique(values):
    seen = []
    for v in values or []:
        if v not in seen:
            seen.append(v)
    return seen


class FilterModule:
    def filters(self):
        return {
            "hcmp_unshipped": hcmp_unshipped,
            "hcmp_bad_names": hcmp_bad_names,
            "hcmp_host_packages": hcmp_host_packages,
            "hcmp_unit_state": hcmp_unit_state,
        }
