"""deploy/kubernetes, checked offline (no cluster here): the base and the
example overlay render with `kubectl kustomize`, every document parses and
names itself, the objects the deployment needs are there and wired to
each other (probes on /healthz, the Service selecting the coordinator's
pods and named by the generators' --coordinator-url, generator ids from
the pod name, anti-affinity, resources, non-root), and every flag and
environment variable a container passes to a tool exists in that tool's
--help (tests/support/python/tool_help.py). Fails, never skips, when
kubectl is missing.

The overlay's Secret comes from a token file the user creates; the test
renders a copy of deploy/kubernetes with a throwaway token in it, so
nothing is ever written into the source tree.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support", "python"))
from tool_help import ToolHelp  # noqa: E402

NEEDED_KINDS = {"Deployment", "Service", "StatefulSet", "Job", "PersistentVolumeClaim", "Secret", "ConfigMap"}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
APP = "bench-dist"
EXPANSION = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


class Checks:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def expect(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)
        return ok


def render(kubectl, directory, artifacts, name):
    r = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True, timeout=60)
    with open(os.path.join(artifacts, f"{name}.yaml"), "w") as f:
        f.write(r.stdout)
    if r.returncode != 0:
        sys.exit(f"FAIL: kubectl kustomize {directory} exited {r.returncode}:\n{r.stderr}")
    return [d for d in yaml.safe_load_all(r.stdout) if d is not None]


def flag_value(args, flag):
    """The value of --flag=V or --flag V in args, or None."""
    for i, a in enumerate(args):
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
        if a == flag and i + 1 < len(args):
            return args[i + 1]
    return None


def pod_spec(doc):
    return doc["spec"]["template"]["spec"]


def containers(doc):
    spec = pod_spec(doc)
    return [("init", c) for c in spec.get("initContainers", [])] + [("main", c) for c in spec.get("containers", [])]


def by_component(docs, kind, component):
    return [d for d in docs if d["kind"] == kind
            and d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component]


def env_names(c, docs):
    """Every variable the container gets: env entries, and envFrom's keys
    looked up in the rendered ConfigMaps and Secrets."""
    names = [e["name"] for e in c.get("env", [])]
    for src in c.get("envFrom", []):
        ref = src.get("configMapRef") or src.get("secretRef") or {}
        kind = "ConfigMap" if "configMapRef" in src else "Secret"
        for d in docs:
            if d["kind"] == kind and d["metadata"]["name"] == ref.get("name"):
                names += [src.get("prefix", "") + k for k in {**d.get("data", {}), **d.get("stringData", {})}]
    return names


def check_tools(checks, help_, docs, label):
    for d in docs:
        if d["kind"] not in WORKLOADS:
            continue
        for _, c in containers(d):
            where = f"{label}: {d['kind']}/{d['metadata']['name']} container {c['name']}"
            argv = list(c.get("command", [])) + list(c.get("args", []))
            if not checks.expect(argv, f"{where}: no command (the image has no entrypoint to rely on)"):
                continue
            names = env_names(c, docs)
            referenced = set(EXPANSION.findall(" ".join(argv)))
            # Kubernetes leaves an undefined $(VAR) as is: the tool would get the literal text.
            for v in sorted(referenced - set(names)):
                checks.expect(False, f"{where}: $({v}) is used but not set in env")
            # Variables set only to be expanded into the arguments are not read by the tool.
            read = [n for n in names if n not in referenced]
            for p in help_.check(argv, read):
                checks.expect(False, f"{where}: {p}")
            checks.passed += 1


def check_common(checks, docs, label):
    for d in docs:
        md = d.get("metadata") or {}
        name = f"{d.get('kind')}/{md.get('name')}"
        checks.expect(d.get("apiVersion") and d.get("kind") and md.get("name"),
                      f"{label}: a document lacks apiVersion, kind or metadata.name: {str(d)[:200]}")
        checks.expect(md.get("labels", {}).get("app.kubernetes.io/name") == APP or d.get("kind") in ("ConfigMap", "Secret"),
                      f"{label}: {name} has no label app.kubernetes.io/name: {APP}")
        if d.get("kind") in WORKLOADS:
            spec = pod_spec(d)
            for _, c in containers(d):
                ctx = {**spec.get("securityContext", {}), **c.get("securityContext", {})}
                checks.expect(ctx.get("runAsNonRoot") is True, f"{label}: {name} container {c['name']} may run as root")
                res = c.get("resources", {})
                checks.expect(all(res.get(k, {}).get(r) for k in ("requests", "limits") for r in ("cpu", "memory")),
                              f"{label}: {name} container {c['name']} lacks cpu/memory requests and limits")
    # Every Service selects the pods of some workload.
    for s in (d for d in docs if d["kind"] == "Service"):
        sel = s["spec"].get("selector", {})
        matched = [w for w in docs if w["kind"] in WORKLOADS and sel
                   and sel.items() <= w["spec"]["template"]["metadata"].get("labels", {}).items()]
        checks.expect(matched, f"{label}: Service/{s['metadata']['name']} selects no workload's pods ({sel})")


def check_wiring(checks, docs, label, overlay):
    kinds = {d["kind"] for d in docs}
    needed = NEEDED_KINDS if overlay else NEEDED_KINDS - {"Secret"}  # the base leaves the Secret to overlays
    checks.expect(needed <= kinds, f"{label}: kinds missing: {sorted(needed - kinds)}")

    coord = by_component(docs, "Deployment", "coordinator")
    if not checks.expect(len(coord) == 1, f"{label}: expected one coordinator Deployment, got {len(coord)}"):
        return
    coord = coord[0]
    checks.expect(coord["spec"].get("replicas") == 1 and coord["spec"].get("strategy", {}).get("type") == "Recreate",
                  f"{label}: the coordinator must be 1 replica with strategy Recreate")
    c = pod_spec(coord)["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        get = c.get(probe, {}).get("httpGet", {})
        checks.expect(get.get("path") == "/healthz" and get.get("port") in (8080, "http"),
                      f"{label}: coordinator {probe} is not GET /healthz on 8080: {c.get(probe)}")
    args = c.get("args", [])
    checks.expect(flag_value(args, "--bind") == "0.0.0.0", f"{label}: coordinator not bound to 0.0.0.0")
    results = flag_value(args, "--results-dir")
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod_spec(coord).get("volumes", [])
              if "persistentVolumeClaim" in v}
    mounted = [m for m in c.get("volumeMounts", []) if m["name"] in claims and m["mountPath"] == results]
    checks.expect(mounted, f"{label}: --results-dir {results} is not on a PersistentVolumeClaim")
    pvcs = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    checks.expect(set(claims.values()) <= pvcs, f"{label}: claim {claims} not among the PVCs {pvcs}")
    token = [e for e in c.get("env", []) if e["name"] == "BENCH_DIST_TOKEN"]
    checks.expect(token and token[0].get("valueFrom", {}).get("secretKeyRef", {}).get("key") == "token",
                  f"{label}: the coordinator's BENCH_DIST_TOKEN is not from a Secret's key token")
    if overlay:
        secrets = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
        checks.expect(token and token[0]["valueFrom"]["secretKeyRef"]["name"] in secrets,
                      f"{label}: the token's Secret is not rendered ({secrets})")

    # The Service the generators and the Job reach the coordinator through.
    labels = coord["spec"]["template"]["metadata"]["labels"]
    services = [s for s in docs if s["kind"] == "Service" and s["spec"].get("selector")
                and s["spec"]["selector"].items() <= labels.items()]
    ok = checks.expect(services and any(p.get("port") == 8080 for p in services[0]["spec"].get("ports", [])),
                       f"{label}: no Service on port 8080 selects the coordinator's pods {labels}")
    service_url = f"http://{services[0]['metadata']['name']}:8080" if ok else None

    gens = [d for d in docs if d["kind"] == "StatefulSet"]
    if not checks.expect(len(gens) == 1, f"{label}: expected one generator StatefulSet"):
        return
    gen = gens[0]
    checks.expect(gen["spec"].get("podManagementPolicy") == "Parallel", f"{label}: generators not Parallel")
    g = pod_spec(gen)["containers"][0]
    gargs = g.get("args", [])
    from_name = [e["name"] for e in g.get("env", [])
                 if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name"]
    checks.expect(from_name and flag_value(gargs, "--id") == f"$({from_name[0]})",
                  f"{label}: the generator id is not the pod name (--id={flag_value(gargs, '--id')}, fieldRef {from_name})")
    checks.expect(service_url and flag_value(gargs, "--coordinator-url") == service_url,
                  f"{label}: generators' --coordinator-url {flag_value(gargs, '--coordinator-url')} is not {service_url}")
    checks.expect(not any(a.startswith("--exit-on-coordinator-loss") for a in gargs),
                  f"{label}: generators must re-register, not exit, on losing the coordinator")
    anti = pod_spec(gen).get("affinity", {}).get("podAntiAffinity", {})
    terms = [t.get("podAffinityTerm", t) for k in ("preferredDuringSchedulingIgnoredDuringExecution",
                                                   "requiredDuringSchedulingIgnoredDuringExecution")
             for t in anti.get(k, [])]
    checks.expect(any(t.get("topologyKey") == "kubernetes.io/hostname" for t in terms),
                  f"{label}: generators have no pod anti-affinity on kubernetes.io/hostname")

    jobs = [d for d in docs if d["kind"] == "Job"]
    if not checks.expect(len(jobs) == 1, f"{label}: expected one Job"):
        return
    steps = [(where, c.get("args", [])) for where, c in containers(jobs[0])]
    for where, a in steps:
        checks.expect(service_url and flag_value(a, "--coordinator-url") in (None, service_url),
                      f"{label}: Job step {a} names another coordinator than {service_url}")
    order = [next((x for x in a if x in ("wait-ready", "seed", "start-epoch", "sweep")), None) for _, a in steps]
    checks.expect(order[:1] == ["wait-ready"] and order[-1] in ("start-epoch", "sweep")
                  and [w for w, _ in steps][-1] == "main",
                  f"{label}: the Job must wait-ready first and run start-epoch/sweep as its main container: {order}")
    checks.expect("--no-live" in steps[-1][1], f"{label}: the Job's epoch should run with --no-live")
    if overlay:
        checks.expect(order[:2] == ["wait-ready", "seed"], f"{label}: the example must seed after wait-ready: {order}")
        images = {c["image"] for d in docs if d["kind"] in WORKLOADS for _, c in containers(d)}
        checks.expect(images == {"bench-dist:0.1.0"}, f"{label}: images {images}, expected bench-dist:0.1.0")
        checks.expect(all(d["metadata"].get("namespace") == "bench-dist" for d in docs if d["kind"] != "Namespace"),
                      f"{label}: not every object is in namespace bench-dist")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--kubectl", default="kubectl", help="kubectl to render with (default: the one on PATH)")
    a = ap.parse_args()
    kubectl = shutil.which(a.kubectl)
    if not kubectl:
        sys.exit(f"FAIL: {a.kubectl} not found: install Debian's kubernetes-client (scripts/setup.sh does)")
    os.makedirs(a.artifacts, exist_ok=True)
    help_ = ToolHelp(a.bin_dir)
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="deploy-k8s-") as tmp:
        tree = os.path.join(tmp, "kubernetes")
        shutil.copytree(os.path.join(a.source_dir, "deploy", "kubernetes"), tree)
        # No newline: the tools take the variable's value as it is (README.md).
        with open(os.path.join(tree, "overlays", "example", "token"), "w") as f:
            f.write("0123456789abcdef" * 4)
        for label, sub, overlay in (("base", "base", False), ("overlay", os.path.join("overlays", "example"), True)):
            docs = render(kubectl, os.path.join(tree, sub), a.artifacts, label)
            check_common(checks, docs, label)
            check_wiring(checks, docs, label, overlay)
            check_tools(checks, help_, docs, label)
    # The results reader is applied on its own (not rendered): it must parse, name itself and run as non-root.
    with open(os.path.join(a.source_dir, "deploy", "kubernetes", "results-reader.yaml")) as f:
        readers = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in readers:
        checks.expect(d.get("apiVersion") and d.get("kind") and (d.get("metadata") or {}).get("name"),
                      "results-reader.yaml: a document lacks apiVersion, kind or metadata.name")
        checks.expect(d.get("spec", {}).get("securityContext", {}).get("runAsNonRoot") is True,
                      "results-reader.yaml: may run as root")
    for f in checks.failures:
        print(f"FAIL: {f}")
    print(f"{checks.passed} passed, {len(checks.failures)} failed")
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
