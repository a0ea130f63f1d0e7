#!/usr/bin/env bash
# The vendored Pingora crates' patches as a patch series, and reapplying it to a new release
# (vendor/README.md, "Moving to a new Pingora release: vendor/pingora-series.sh").
#
#   vendor/patches/<crate>/NNNN-short-name.patch   one unified diff (-p1, relative to the crate
#                                                  root) per numbered patch in vendor/README.md
#
# Needs bash, python3 (standard library), cargo (to fetch the published crates: from the local
# registry cache when there, else `cargo info CRATE@VERSION`, else a throwaway `cargo fetch`),
# GNU patch and diff. Temporary directories are removed on exit.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: vendor/pingora-series.sh COMMAND

Commands:
  export               Regenerate vendor/patches/ from the vendored copies (vendor/pingora-*)
                       against the pristine release of the version Cargo.lock records, then
                       run `check`. Each hunk of the crate's diff goes to the patch named by the
                       `lambda-proxy patch NNNN` marker in its added lines; a hunk without one
                       is an error (add the marker comment to the vendored code). A hunk that
                       carries two patches' markers (a later patch edits an earlier one's
                       lines) keeps the earlier patch's part of that file from its existing
                       patch file.
  check                Pristine release + series applied in order (patch --fuzz=0) must equal
                       the vendored copies exactly; prints the diff and exits 1 otherwise.
  apply VERSION [--into DIR]
                       Fetch the pristine VERSION of each vendored crate, copy it into a new
                       scratch directory (kept, its path printed) or into DIR/<crate> (DIR may
                       be vendor/: the vendored copies are replaced, which needs them clean in
                       git), apply each patch with `patch -p1 --forward --batch` and report per
                       patch: applied / applied with fuzz / failed (with the .rej files). Ends
                       with what to do next. Exit status 1 when a patch failed.
  -h, --help           This text.

Not part of the series (cargo does not read them, or the vendored copies do not carry them):
.cargo_vcs_info.json, .cargo-ok, Cargo.toml.orig, Cargo.lock, *.pem (the repository ignores
*.pem; pingora-core's examples/keys).
EOF
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
vendor=$root/vendor
series=$vendor/patches
readme=$vendor/README.md
ignored=(.cargo_vcs_info.json .cargo-ok Cargo.toml.orig Cargo.lock '*.pem')
diff_excludes=()
for pattern in "${ignored[@]}"; do diff_excludes+=(-x "$pattern"); done
export SERIES_IGNORED="${ignored[*]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/pingora-series.XXXXXX")
trap 'rm -rf "$work"' EXIT

die() {
    echo "pingora-series: $*" >&2
    exit 2
}

# The vendored crates: vendor/pingora-*/ with a Cargo.toml.
vendored_crates() {
    local dir
    for dir in "$vendor"/pingora-*/; do
        [[ -f $dir/Cargo.toml ]] && basename "$dir"
    done
}

# The version Cargo.lock records for a vendored (path) crate; checked against its Cargo.toml.
locked_version() {
    python3 - "$root/Cargo.lock" "$vendor/$1/Cargo.toml" "$1" <<'PY'
import re, sys
lock, manifest, name = sys.argv[1:]
found = []
for block in open(lock).read().split("[[package]]")[1:]:
    fields = dict(re.findall(r'(?m)^(\w+) = "([^"]*)"', block))
    if fields.get("name") == name and "source" not in fields:
        found.append(fields["version"])
if len(found) != 1:
    sys.exit(f"pingora-series: Cargo.lock has {len(found)} path packages named {name}")
package = open(manifest).read().split("[package]", 1)[1].split("\n[", 1)[0]
own = re.search(r'(?m)^version = "([^"]*)"', package).group(1)
if own != found[0]:
    sys.exit(f"pingora-series: Cargo.lock says {name} {found[0]}, vendor/{name}/Cargo.toml {own}")
print(found[0])
PY
}

crate_file() {
    local file
    for file in "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$1-$2.crate"; do
        if [[ -f $file ]]; then
            echo "$file"
            return
        fi
    done
}

# fetch_pristine CRATE VERSION DEST: the published crate, unpacked as DEST/CRATE-VERSION.
fetch_pristine() {
    local crate=$1 version=$2 dest=$3 file fetch
    file=$(crate_file "$crate" "$version")
    if [[ -z $file ]]; then
        # cargo info downloads the .crate into the registry cache (cargo >= 1.82); run outside
        # any workspace so that no [patch] applies.
        (cd "$work" && cargo info --quiet "$crate@$version" >/dev/null 2>&1) || true
        file=$(crate_file "$crate" "$version")
    fi
    if [[ -z $file ]]; then
        fetch=$work/fetch-$crate-$version
        mkdir -p "$fetch/src"
        : >"$fetch/src/lib.rs"
        printf '[package]\nname = "pingora-series-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n%s = "=%s"\n\n[workspace]\n' \
            "$crate" "$version" >"$fetch/Cargo.toml"
        cargo fetch --quiet --manifest-path "$fetch/Cargo.toml" >&2 ||
            die "cannot fetch $crate $version from the registry"
        file=$(crate_file "$crate" "$version")
    fi
    [[ -n $file ]] || die "$crate $version: no .crate in the registry cache after fetching"
    mkdir -p "$dest"
    python3 - "$file" "$dest" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as archive:
    options = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    archive.extractall(sys.argv[2], **options)
PY
    [[ -d $dest/$crate-$version ]] || die "$file did not unpack to $crate-$version/"
    rm -f "$dest/$crate-$version/.cargo-ok"
}

# The patch files of a crate, in order.
patches_of() {
    local file
    for file in "$series/$1"/[0-9][0-9][0-9][0-9]-*.patch; do
        [[ -f $file ]] && echo "$file"
    done
    return 0
}

# The splitter: diff pristine -> vendored copy, hunks attributed by their markers.
IFS= read -r -d '' SPLITTER <<'PY' || true
import fnmatch, os, re, subprocess, sys, tempfile

IGNORED = os.environ["SERIES_IGNORED"].split()
MARKER = re.compile(r"lambda-proxy patch (\d{4})\b")
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class Refused(Exception):
    pass


def read(path):
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        return f.read()


def files_of(top):
    found = set()
    for directory, _, names in os.walk(top):
        for name in names:
            if not any(fnmatch.fnmatch(name, p) for p in IGNORED):
                found.add(os.path.relpath(os.path.join(directory, name), top))
    return found


def udiff(old, new, path, created):
    """GNU diff -u of two texts, labelled a/PATH (or /dev/null) and b/PATH."""
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        for name, text in ((a, old), (b, new)):
            with open(name, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
                f.write(text)
        run = subprocess.run(
            ["diff", "-u", "--label", "/dev/null" if created else "a/" + path,
             "--label", "b/" + path, a, b], capture_output=True)
    if run.returncode > 1:
        raise Refused(f"diff failed on {path}: {run.stderr.decode()}")
    return run.stdout.decode("utf-8", "surrogateescape")


class Hunk:
    def __init__(self, old_start, old_len):
        self.old_start, self.old_len = old_start, old_len
        self.old, self.new, self.text, self.added = [], [], [], []

    def markers(self):
        return sorted({m for line in self.added for m in MARKER.findall(line)})


def parse(diff_text):
    """Hunks of a one-file unified diff, with exact lines (line ends kept)."""
    lines = diff_text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    hunks, i = [], 0
    while i < len(lines):
        m = HUNK.match(lines[i])
        if not m:
            i += 1
            continue
        old_len = int(m.group(2)) if m.group(2) is not None else 1
        new_len = int(m.group(4)) if m.group(4) is not None else 1
        h = Hunk(int(m.group(1)), old_len)
        h.text.append(lines[i])
        i += 1
        old_left, new_left, last = old_len, new_len, None
        while i < len(lines) and (old_left or new_left or lines[i].startswith("\\")):
            line = lines[i]
            h.text.append(line)
            i += 1
            kind, body = line[:1], line[1:]
            if kind == "\\":
                if last in (" ", "-"):
                    h.old[-1] = h.old[-1][:-1]
                if last in (" ", "+"):
                    h.new[-1] = h.new[-1][:-1]
                continue
            if kind in (" ", "-"):
                h.old.append(body + "\n")
                old_left -= 1
            if kind in (" ", "+"):
                h.new.append(body + "\n")
                new_left -= 1
            if kind == "+":
                h.added.append(body)
            if kind not in (" ", "-", "+"):
                raise Refused(f"unexpected line in a hunk: {line!r}")
            last = kind
        hunks.append(h)
    return hunks


def apply(text, hunks, what):
    """Applies hunks made against TEXT at their exact places (no offset, no fuzz)."""
    lines = text.splitlines(keepends=True)
    for h in sorted(hunks, key=lambda h: h.old_start, reverse=True):
        at = h.old_start if h.old_len == 0 else h.old_start - 1
        if lines[at:at + h.old_len] != h.old:
            raise Refused(f"{what}: hunk {h.text[0]} does not apply exactly")
        lines[at:at + h.old_len] = h.new
    return "".join(lines)


def sections(patch_text):
    """{path: one-file diff text} of a patch file."""
    out, lines, i = {}, patch_text.split("\n"), 0
    while i < len(lines) - 1:
        if lines[i].startswith("--- ") and lines[i + 1].startswith("+++ "):
            new = lines[i + 1][4:].split("\t")[0]
            old = lines[i][4:].split("\t")[0]
            path = (new if new != "/dev/null" else old).split("/", 1)[1]
            start, i = i, i + 2
            while i < len(lines) and HUNK.match(lines[i]):
                m = HUNK.match(lines[i])
                old_left = int(m.group(2)) if m.group(2) is not None else 1
                new_left = int(m.group(4)) if m.group(4) is not None else 1
                i += 1
                while i < len(lines) and (old_left or new_left or lines[i].startswith("\\")):
                    kind = lines[i][:1]
                    old_left -= kind in (" ", "-")
                    new_left -= kind in (" ", "+")
                    i += 1
            out[path] = "\n".join(lines[start:i]) + "\n"
        else:
            i += 1
    return out


def readme_titles(readme, crate):
    titles, current = {}, None
    for line in read(readme).splitlines():
        m = re.match(r"^## (\S+)", line)
        if m:
            current = m.group(1)
            continue
        m = re.match(r"^### (\d{1,4}): (.+)", line)
        if m and current == crate:
            titles[m.group(1).zfill(4)] = m.group(2).strip()
    return titles


def slug(title):
    words = re.sub(r"[^a-z0-9.]+", " ", title.lower().replace("`", "")).split()
    out = ""
    for word in words:
        if out and len(out) + 1 + len(word) > 64:
            break
        out = f"{out}-{word}" if out else word
    return out.strip(".-") or "patch"


def split_file(crate, path, old, new, existing):
    """{NNNN: diff text} for one file: each patch's step, in order."""
    created = old is None
    base, parts = old or "", {}
    first = parse(udiff(base, new, path, created))
    for h in first:
        if not h.markers():
            raise Refused(
                f"{crate}/{path}: a hunk carries no `lambda-proxy patch NNNN` marker in its "
                f"added lines; add one (a comment) to the vendored code:\n" + "\n".join(h.text))
    numbers = sorted({n for h in first for n in h.markers()})
    for number in numbers:
        hunks = parse(udiff(base, new, path, created))
        chosen, tangled = [], []
        for h in hunks:
            marks = h.markers()
            if not marks:
                raise Refused(
                    f"{crate}/{path}: once the patches before {number} are applied, a change "
                    "with no marker of its own is left. If it belongs to an earlier patch "
                    "whose part of this file is kept from its patch file (a later patch edits "
                    "the same lines), edit that patch file to match; otherwise add a "
                    "`lambda-proxy patch NNNN` comment to it:\n" + "\n".join(h.text))
            if marks[0] < number:
                raise Refused(
                    f"{crate}/{path}: lines of patch {marks[0]} changed in the vendored copy "
                    f"where a later patch also changes them; edit patch {marks[0]}'s part of "
                    f"this file in vendor/patches/{crate}/ by hand to match, then export "
                    "again:\n" + "\n".join(h.text))
            if marks[0] == number:
                (chosen if len(marks) == 1 else tangled).append(h)
        if tangled:
            kept = existing.get(number, {}).get(path)
            if kept is None:
                raise Refused(
                    f"{crate}/{path}: a hunk carries the markers of patches "
                    f"{', '.join(tangled[0].markers())}: a later patch changes patch {number}'s "
                    f"lines, and no existing vendor/patches/{crate}/{number}-*.patch holds "
                    f"patch {number}'s part of {path} to start from. Write that part by hand "
                    f"(the file as patch {number} alone leaves it), then export again:\n"
                    + "\n".join(tangled[0].text))
            step = apply(base, parse(kept), f"{crate} {number} (kept part of {path})")
        else:
            step = apply(base, chosen, f"{crate}/{path}")
        if step != base:
            parts[number] = udiff(base, step, path, created and not base)
        base = step
    if base != new:
        raise Refused(f"{crate}/{path}: the split does not add up to the vendored copy")
    return parts


def export(series, readme, crate, pristine, vendored, version):
    directory = os.path.join(series, crate)
    existing, names = {}, {}
    if os.path.isdir(directory):
        for name in sorted(os.listdir(directory)):
            m = re.match(r"^(\d{4})-.*\.patch$", name)
            if m:
                names[m.group(1)] = name
                existing[m.group(1)] = sections(read(os.path.join(directory, name)))
    old_files, new_files = files_of(pristine), files_of(vendored)
    for path in sorted(old_files - new_files):
        raise Refused(f"{crate}/{path}: in the release, not in the vendored copy (a deletion "
                      "carries no marker: restore it, or add it to the script's ignored list)")
    steps = {}
    for path in sorted(new_files):
        old = read(os.path.join(pristine, path)) if path in old_files else None
        new = read(os.path.join(vendored, path))
        if old == new:
            continue
        for number, text in split_file(crate, path, old, new, existing).items():
            steps.setdefault(number, []).append(text)
    titles = readme_titles(readme, crate)
    out = {}
    for number in sorted(steps):
        title = titles.get(number)
        name = names.get(number)
        if name is None or (title and name.endswith("-undocumented.patch")):
            name = f"{number}-{slug(title) if title else 'undocumented'}.patch"
        if not title:
            print(f"warning: {crate} patch {number} has no `### {number}:` heading under "
                  f"`## {crate}` in vendor/README.md: document it (What/Change/Test)",
                  file=sys.stderr)
        header = (
            f"lambda-proxy patch {number} to {crate} {version}: {title or '(undocumented)'}\n"
            f"What, why and its test: vendor/README.md, {crate} {number}.\n"
            f"Generated from vendor/{crate} by `vendor/pingora-series.sh export`.\n\n")
        out[name] = header + "".join(steps[number])
    return directory, out, names


def main_export(series, readme, specs):
    plans = []
    try:
        for crate, pristine, vendored, version in specs:
            plans.append((crate,) + export(series, readme, crate, pristine, vendored, version))
    except Refused as e:
        sys.exit(f"pingora-series export: {e}\n(nothing written)")
    for crate, directory, out, old_names in plans:
        os.makedirs(directory, exist_ok=True)
        for name in sorted(set(old_names.values()) - set(out)):
            os.remove(os.path.join(directory, name))
            print(f"{crate}: removed {name}")
        for name, text in out.items():
            path = os.path.join(directory, name)
            before = read(path) if os.path.exists(path) else None
            with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
                f.write(text)
            files = sum(1 for line in text.split("\n") if line.startswith("+++ "))
            plus = sum(1 for p in sections(text).values() for h in parse(p) for _ in h.added)
            minus = sum(1 for p in sections(text).values() for h in parse(p)
                        for line in h.text if line.startswith("-"))
            state = "new" if before is None else "unchanged" if before == text else "updated"
            print(f"{crate}: {name}: {files} file(s), +{plus} -{minus} ({state})")
        if not out:
            print(f"{crate}: no patches (the vendored copy is the release)")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "export":
        series, readme, rest = sys.argv[2], sys.argv[3], sys.argv[4:]
        main_export(series, readme, [tuple(rest[i:i + 4]) for i in range(0, len(rest), 4)])
    elif command == "tests":
        seen = []
        for m in re.finditer(r"tests/gateway/([\w/]+?)(?:\.rs)?(?:::(\w+)|/)", read(sys.argv[2])):
            name = m.group(1).replace("/", "::") + ("::" + m.group(2) if m.group(2) else "::")
            if name not in seen:
                seen.append(name)
        print("\n".join(seen))
PY

cmd_export() {
    local crate version specs=()
    mkdir -p "$work/pristine"
    while read -r crate; do
        version=$(locked_version "$crate")
        fetch_pristine "$crate" "$version" "$work/pristine"
        specs+=("$crate" "$work/pristine/$crate-$version" "$vendor/$crate" "$version")
    done < <(vendored_crates)
    python3 -c "$SPLITTER" export "$series" "$readme" "${specs[@]}"
    echo "Round trip:"
    cmd_check
}

cmd_check() {
    local crate version dir patch failed=0
    while read -r crate; do
        version=$(locked_version "$crate")
        dir=$work/check/$crate-$version
        if [[ ! -d $dir ]]; then
            fetch_pristine "$crate" "$version" "$work/check"
        fi
        while read -r patch; do
            [[ -n $patch ]] || continue
            if ! patch -p1 --forward --batch --fuzz=0 --no-backup-if-mismatch --quiet \
                -d "$dir" -i "$patch" >"$work/patch.out" 2>&1; then
                echo "FAILED: ${patch#"$root"/} does not apply exactly to $crate $version + the patches before it:"
                cat "$work/patch.out"
                failed=1
            fi
        done < <(patches_of "$crate")
        if diff -ruN "${diff_excludes[@]}" "$dir" "$vendor/$crate" >"$work/check.diff"; then
            echo "ok: $crate $version + $(patches_of "$crate" | wc -l) patch(es) == vendor/$crate"
        else
            echo "DIFFERS: $crate $version + vendor/patches/$crate != vendor/$crate (- series, + vendored):"
            cat "$work/check.diff"
            failed=1
        fi
    done < <(vendored_crates)
    for dir in "$series"/*/; do
        [[ -d $dir ]] || continue
        crate=$(basename "$dir")
        if [[ ! -f $vendor/$crate/Cargo.toml ]]; then
            echo "DIFFERS: vendor/patches/$crate has no vendored crate vendor/$crate"
            failed=1
        fi
    done
    return "$failed"
}

cmd_apply() {
    local version=$1 into=$2 in_vendor=0 dest crate patch status failed=0 old_version
    if [[ -z $into ]]; then
        dest=$(mktemp -d "${TMPDIR:-/tmp}/pingora-$version.XXXXXX")
    else
        mkdir -p "$into"
        dest=$(cd "$into" && pwd)
        [[ $dest == "$vendor" ]] && in_vendor=1
    fi
    old_version=$(locked_version pingora-core)
    mkdir -p "$work/release"
    while read -r crate; do
        if ((in_vendor)); then
            if [[ -n $(git -C "$root" status --porcelain -- "vendor/$crate") ]]; then
                die "vendor/$crate has uncommitted changes; commit or stash them first"
            fi
        elif [[ -e $dest/$crate ]]; then
            die "$dest/$crate exists; choose another --into"
        fi
    done < <(vendored_crates)
    echo "Applying vendor/patches to Pingora $version in $dest"
    while read -r crate; do
        fetch_pristine "$crate" "$version" "$work/release"
        rm -rf "${dest:?}/$crate"
        cp -a "$work/release/$crate-$version" "$dest/$crate"
        while read -r patch; do
            [[ -n $patch ]] || continue
            if patch -p1 --forward --batch --no-backup-if-mismatch -d "$dest/$crate" \
                -i "$patch" >"$work/patch.out" 2>&1; then
                status=0
            else
                status=$?
            fi
            if ((status == 0)) && grep -q 'with fuzz' "$work/patch.out"; then
                echo "  $crate $(basename "$patch"): applied with fuzz"
                grep 'with fuzz' "$work/patch.out" | sed 's/^/      /'
            elif ((status == 0)) && grep -q 'offset' "$work/patch.out"; then
                echo "  $crate $(basename "$patch"): applied ($(grep -c 'offset' "$work/patch.out") hunk(s) at an offset)"
            elif ((status == 0)); then
                echo "  $crate $(basename "$patch"): applied"
            else
                failed=1
                if grep -q 'Reversed (or previously applied)' "$work/patch.out"; then
                    echo "  $crate $(basename "$patch"): FAILED (some hunks look applied already: upstream may have fixed it)"
                else
                    echo "  $crate $(basename "$patch"): FAILED"
                fi
                sed -n -e "s|^|      |; s|saving rejects to file |saving rejects to file $dest/$crate/|" \
                    -e '/FAILED\|saving rejects\|can.t find file\|Reversed\|No file to patch\|malformed/p' \
                    "$work/patch.out"
            fi
        done < <(patches_of "$crate")
    done < <(vendored_crates)
    local tests pins
    tests=$(python3 -c "$SPLITTER" tests "$readme")
    pins=$(cd "$root" && { grep -rlF --include=Cargo.toml --exclude-dir=target \
        --exclude-dir=vendor --exclude-dir=.git "\"=$old_version\"" . || true; } |
        sed 's|^\./||' | tr '\n' ' ')
    echo
    if ((failed)); then
        echo "Some patches failed: port each .rej by hand (or drop a patch upstream made"
        echo "unnecessary, with its README section and markers), then delete the .rej files."
    fi
    echo "Next:"
    if ((!in_vendor)); then
        echo "  - What upstream changed besides the series: diff -ru vendor/pingora-core $dest/pingora-core (and the others)"
        echo "  - Take it: vendor/pingora-series.sh apply $version --into vendor (port any .rej there)"
    fi
    echo "  - Pins: \"=$old_version\" -> \"=$version\" in ${pins% }, then cargo update -p pingora"
    echo "    -p pingora-prometheus (and in fuzz/, its own workspace); cargo tree -d for new duplicates"
    echo "  - vendor/README.md and docs/design.md: the version in the headings and text"
    echo "  - Re-export the series against $version: vendor/pingora-series.sh export (it runs check)"
    echo "  - The tests vendor/README.md names for the patches:"
    while read -r test; do
        [[ -n $test ]] && echo "      cargo test --test gateway $test"
    done <<<"$tests"
    echo "    and pingora-cache's own unit tests: vendor/test-pingora-cache.sh"
    return "$failed"
}

case ${1:-} in
    -h | --help | help)
        usage
        ;;
    export)
        [[ $# -eq 1 ]] || die "export takes no arguments (--help)"
        cmd_export
        ;;
    check)
        [[ $# -eq 1 ]] || die "check takes no arguments (--help)"
        cmd_check
        ;;
    apply)
        shift
        [[ $# -ge 1 && $1 != -* ]] || die "apply needs a VERSION (--help)"
        version=$1
        shift
        into=
        if [[ $# -gt 0 ]]; then
            [[ $1 == --into && $# -eq 2 ]] || die "usage: apply VERSION [--into DIR]"
            into=$2
        fi
        cmd_apply "$version" "$into"
        ;;
    *)
        usage >&2
        exit 2
        ;;
esac
