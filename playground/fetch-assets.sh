#!/usr/bin/env bash
# Fetch the GraphiQL UMD build that /playground/ serves, from the npm registry, into static/.
#
# The files are committed so that `make run` works with no network at all; this script is how
# they were made and how to update them: change the versions in package.json, run
# `npm install --package-lock-only --ignore-scripts` here, then run this script.
#
# Each package is fetched with `npm pack` (one tarball, no dependency tree: the UMD builds are
# self-contained) and its integrity is checked against package-lock.json before anything is
# copied. Large files get a gzip sibling, which aiohttp's FileResponse sends to clients that
# accept gzip.
#
# Usage: playground/fetch-assets.sh           write the files into playground/static/
#        playground/fetch-assets.sh --check   fetch, and fail if static/ differs from the registry
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
static="$here/static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mode="${1:-write}"

command -v npm >/dev/null || { echo "fetch-assets: npm is required (apt-get install npm)" >&2; exit 1; }

locked() { # locked <package> <field>: a field of the package's entry in package-lock.json
    node -e '
        const lock = require(process.argv[1]);
        const entry = lock.packages["node_modules/" + process.argv[2]];
        if (!entry) { console.error("not in package-lock.json: " + process.argv[2]); process.exit(1); }
        console.log(entry[process.argv[3]]);
    ' "$here/package-lock.json" "$1" "$2"
}

unpack() { # unpack <package>: fetch the locked version, verify it, extract into $work/<package>
    local package="$1" version integrity pack_json got filename
    version="$(locked "$package" version)"
    integrity="$(locked "$package" integrity)"
    pack_json="$(cd "$work" && npm pack "$package@$version" --json --silent)"
    got="$(node -e 'console.log(JSON.parse(process.argv[1])[0].integrity)' "$pack_json")"
    filename="$(node -e 'console.log(JSON.parse(process.argv[1])[0].filename)' "$pack_json")"
    if [ "$got" != "$integrity" ]; then
        echo "fetch-assets: $package@$version integrity $got does not match package-lock.json" >&2
        exit 1
    fi
    mkdir -p "$work/$package"
    tar -xzf "$work/$filename" -C "$work/$package" --strip-components=1
    echo "fetch-assets: $package@$version verified" >&2
}

unpack graphiql
unpack react
unpack react-dom

out="$work/static"
mkdir -p "$out"
cp "$work/graphiql/graphiql.min.js" "$work/graphiql/graphiql.min.css" "$out/"
cp "$work/react/umd/react.production.min.js" "$out/"
cp "$work/react-dom/umd/react-dom.production.min.js" "$out/"
cp "$work/graphiql/LICENSE" "$out/LICENSE.graphiql.txt"
cp "$work/react/LICENSE" "$out/LICENSE.react.txt"
cp "$work/react-dom/LICENSE" "$out/LICENSE.react-dom.txt"
# -n leaves the name and time out of the header, so the same input gives the same bytes.
for file in graphiql.min.js graphiql.min.css react-dom.production.min.js; do
    gzip -9 -n -k "$out/$file"
done

vendored=(graphiql.min.js graphiql.min.js.gz graphiql.min.css graphiql.min.css.gz
          react.production.min.js react-dom.production.min.js react-dom.production.min.js.gz
          LICENSE.graphiql.txt LICENSE.react.txt LICENSE.react-dom.txt)

if [ "$mode" = "--check" ]; then
    status=0
    for file in "${vendored[@]}"; do
        cmp -s "$out/$file" "$static/$file" || { echo "fetch-assets: static/$file differs" >&2; status=1; }
    done
    [ "$status" = 0 ] && echo "fetch-assets: static/ matches package-lock.json" >&2
    exit "$status"
fi

mkdir -p "$static"
for file in "${vendored[@]}"; do
    cp "$out/$file" "$static/$file"
done
echo "fetch-assets: wrote ${#vendored[@]} files into $static" >&2
