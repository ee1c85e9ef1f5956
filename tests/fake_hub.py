"""An in-process fake of the Hugging Face Hub's HTTP API, installed at huggingface_hub's client boundary.

`with FakeHub(...).installed():` makes `huggingface_hub.utils.get_session()` return an `httpx2.Client` whose
transport is an `httpx2.MockTransport` answering from memory, with huggingface_hub's own request
hook (so `HF_HUB_OFFLINE` still blocks requests). It serves what `HfApi.create_repo`,
`create_commit` (validate-yaml, preupload, ndjson commit), `list_repo_tree`, `list_repo_refs`,
`create_tag`, `repo_info` / `repo_exists` / `revision_exists` and `snapshot_download` send, in the
Hub's JSON shapes and headers. Every file is uploaded as a "regular" (inline base64) file; files
whose suffix is in `lfs_suffixes` are then listed and served the way the Hub serves LFS files (tree
entries with `lfs`, downloads redirected to a CDN host). Any other endpoint (LFS batch, xet tokens,
...) is recorded in `unexpected` and answered 501, so a test can fail loudly on it.

Tokens map to the namespaces they may write (the first one is the user's own). A wrong token gets
401, a write to another namespace 403; `fail()` simulates an HTTP status or a timeout.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import httpx2
import yaml
from huggingface_hub import constants
from huggingface_hub.utils import _http, set_client_factory

ENDPOINT = "https://hub.fake.test"
CDN = "https://cdn.fake.test"
TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
DATE = "2026-01-01T00:00:00.000Z"
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
INVALID_TOKEN = "Invalid credentials in Authorization header"


def git_oid(content: bytes) -> str:
    """The git blob sha1 of some content."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def lfs_pointer(content: bytes) -> bytes:
    """The git-lfs pointer file the Hub stores in git for an LFS file."""
    sha = hashlib.sha256(content).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(content)}\n".encode()


class Reply(Exception):
    """Raised inside a route to answer with an error response."""

    def __init__(self, status: int, message: str, code: str | None = None, **headers: str) -> None:
        super().__init__(message)
        self.response = httpx2.Response(
            status,
            json={"error": message},
            headers={"X-Error-Message": message, **({"X-Error-Code": code} if code else {}), **headers},
        )


@dataclass
class Commit:
    """A commit: its files (path -> bytes), parent and message."""

    oid: str
    files: dict[str, bytes]
    message: str
    parent: str | None = None


@dataclass
class FakeRepo:
    """A repository kept in memory."""

    repo_id: str
    repo_type: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The repo's web address."""
        return f"{ENDPOINT}/{PREFIXES[self.repo_type]}{self.repo_id}"

    def resolve(self, revision: str) -> Commit:
        """The commit a branch, tag or sha names; 404 RevisionNotFound otherwise."""
        oid = self.branches.get(revision) or self.tags.get(revision) or revision
        if oid not in self.commits:
            raise Reply(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return self.commits[oid]


class FakeHub:
    """The fake Hub: repos in memory, every request recorded in `requests`."""

    def __init__(self, tokens: dict[str, list[str]], lfs_suffixes: tuple[str, ...] = (".parquet",)) -> None:
        self.tokens = tokens
        self.lfs_suffixes = lfs_suffixes
        self.repos: dict[tuple[str, str], FakeRepo] = {}
        self.requests: list[httpx2.Request] = []
        self.unexpected: list[str] = []
        self.failure: int | str | None = None
        self.fail_on = ""
        self.counter = itertools.count()

    # -------------------------------------------------------------- test controls

    @contextmanager
    def installed(self) -> Iterator[FakeHub]:
        """Route huggingface_hub's shared HTTP client to this fake, without retry sleeps; restore both after."""
        real_time = _http.time
        _http.time = SimpleNamespace(sleep=lambda seconds: None)  # http_backoff's only use of `time`
        set_client_factory(
            lambda: httpx2.Client(
                transport=httpx2.MockTransport(self.handle),
                event_hooks={"request": [_http.hf_request_event_hook]},
                follow_redirects=True,
            )
        )
        try:
            yield self
        finally:
            set_client_factory(_http.default_client_factory)  # also closes the fake's cached client
            _http.time = real_time

    def fail(self, failure: int | str, on: str = "") -> None:
        """Answer requests whose path contains `on` with HTTP `failure`, or raise a timeout for 'timeout'."""
        self.failure, self.fail_on = failure, on

    def repo(self, repo_id: str, repo_type: str = "dataset") -> FakeRepo:
        """A stored repository."""
        return self.repos[(repo_type, repo_id)]

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> dict[str, bytes]:
        """The files of a repo at a revision."""
        return self.repo(repo_id, repo_type).resolve(revision).files

    def history(self, repo_id: str, repo_type: str = "dataset") -> list[Commit]:
        """The commits of `main`, newest first."""
        repo = self.repo(repo_id, repo_type)
        commit, out = repo.commits[repo.branches["main"]], []
        while commit is not None:
            out.append(commit)
            commit = repo.commits.get(commit.parent) if commit.parent else None
        return out

    # -------------------------------------------------------------- transport

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """The MockTransport handler."""
        self.requests.append(request)
        if self.failure is not None and self.fail_on in request.url.path:
            if self.failure == "timeout":
                raise httpx2.ReadTimeout("timed out", request=request)
            return httpx2.Response(int(self.failure), json={"error": f"simulated HTTP {self.failure}"})
        try:
            return self.route(request)
        except Reply as reply:
            return reply.response

    def route(self, request: httpx2.Request) -> httpx2.Response:
        """Dispatch on host, method and path."""
        segments = [unquote(s) for s in request.url.raw_path.decode().split("?")[0].split("/")[1:]]
        method, host = request.method, f"{request.url.scheme}://{request.url.host}"
        if host == CDN and method == "GET":
            return self.cdn(request, segments[-1])
        if segments[:1] == ["api"]:
            route = self.api_route(request, segments[1:])
            if route is not None:
                return route
        elif "resolve" in segments and method in ("GET", "HEAD"):
            return self.resolve_file(request, segments)
        self.unexpected.append(f"{method} {request.url}")
        return httpx2.Response(501, json={"error": "not implemented by the fake hub"})

    def api_route(self, request: httpx2.Request, parts: list[str]) -> httpx2.Response | None:
        """Routes under /api; None for an unknown one."""
        method = request.method
        if (method, parts) == ("POST", ["repos", "create"]):
            return self.create_repo(request)
        if (method, parts) == ("POST", ["validate-yaml"]):
            return self.validate_yaml(request)
        if len(parts) < 3 or parts[0] not in TYPES:
            return None
        repo_type, repo_id, rest = TYPES[parts[0]], f"{parts[1]}/{parts[2]}", parts[3:]
        action = (method, rest[0] if rest else "")
        routes = {
            ("GET", ""): self.repo_info,
            ("GET", "revision"): self.repo_info,
            ("GET", "refs"): self.refs,
            ("GET", "tree"): self.tree,
            ("POST", "preupload"): self.preupload,
            ("POST", "commit"): self.commit,
            ("POST", "tag"): self.tag,
        }
        if action not in routes:
            return None
        write = action[0] == "POST"
        repo = self.find(request, repo_type, repo_id, write=write)
        return routes[action](request, repo, rest[1:])

    # -------------------------------------------------------------- auth

    def user(self, request: httpx2.Request) -> list[str] | None:
        """The namespaces the request's token may write; None when anonymous; 401 for an unknown token."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        token = header.removeprefix("Bearer ")
        if token not in self.tokens:
            raise Reply(401, INVALID_TOKEN)
        return self.tokens[token]

    def find(self, request: httpx2.Request, repo_type: str, repo_id: str, write: bool) -> FakeRepo:
        """The repo a request is about, checking read access (404 like the Hub) and write access (401/403)."""
        namespaces = self.user(request) or []
        repo = self.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and repo_id.split("/")[0] not in namespaces):
            raise Reply(404, "Repository not found", "RepoNotFound")
        if write:
            self.check_write(request, repo_id.split("/")[0])
        return repo

    def check_write(self, request: httpx2.Request, namespace: str) -> None:
        """401 for anonymous writes, 403 for a namespace the token may not write."""
        namespaces = self.user(request)
        if namespaces is None:
            raise Reply(401, "You must be authenticated to write")
        if namespace not in namespaces:
            raise Reply(403, f'You don\'t have the rights to write under the namespace "{namespace}"')

    # -------------------------------------------------------------- repos and commits

    def new_commit(self, repo: FakeRepo, files: dict[str, bytes], message: str, parent: str | None) -> Commit:
        """Store a commit with a fresh oid."""
        seed = f"{repo.repo_id}:{next(self.counter)}:{message}:{parent}".encode()
        commit = Commit(hashlib.sha1(seed, usedforsecurity=False).hexdigest(), files, message, parent)
        repo.commits[commit.oid] = commit
        return commit

    def create_repo(self, request: httpx2.Request) -> httpx2.Response:
        """POST /api/repos/create: a repo with an initial commit holding .gitattributes; 409 if it exists."""
        payload = json.loads(request.content)
        namespaces = self.user(request) or []
        namespace = payload.get("organization") or (namespaces[0] if namespaces else "")
        self.check_write(request, namespace)
        repo_type, repo_id = payload.get("type") or "model", f"{namespace}/{payload['name']}"
        if (repo_type, repo_id) in self.repos:
            repo = self.repos[(repo_type, repo_id)]
            return httpx2.Response(409, json={"error": f"You already created this {repo_type} repo", "url": repo.url})
        repo = FakeRepo(repo_id, repo_type, private=payload.get("visibility") == "private")
        self.repos[(repo_type, repo_id)] = repo
        repo.branches["main"] = self.new_commit(repo, {".gitattributes": GITATTRIBUTES}, "initial commit", None).oid
        return httpx2.Response(200, json={"url": repo.url, "name": repo_id, "id": f"id-{repo_id}"})

    def validate_yaml(self, request: httpx2.Request) -> httpx2.Response:
        """POST /api/validate-yaml: 400 with `errors` when the card's front matter is not YAML."""
        content = json.loads(request.content)["content"]
        front = content.split("---")[1] if content.startswith("---") else ""
        try:
            yaml.safe_load(front)
        except yaml.YAMLError as exc:
            return httpx2.Response(400, json={"errors": [{"message": str(exc)}], "warnings": []})
        return httpx2.Response(200, json={"errors": [], "warnings": []})

    def repo_info(self, request: httpx2.Request, repo: FakeRepo, rest: list[str]) -> httpx2.Response:
        """GET /api/{type}s/{id}[/revision/{rev}]."""
        commit = repo.resolve(rest[0] if rest else "main")
        return httpx2.Response(
            200,
            json={
                "id": repo.repo_id,
                "author": repo.repo_id.split("/")[0],
                "sha": commit.oid,
                "private": repo.private,
                "disabled": False,
                "gated": False,
                "lastModified": DATE,
                "createdAt": DATE,
                "siblings": [{"rfilename": path} for path in sorted(commit.files)],
            },
        )

    def refs(self, request: httpx2.Request, repo: FakeRepo, rest: list[str]) -> httpx2.Response:
        """GET /api/{type}s/{id}/refs."""

        def refs(kind: str, table: dict[str, str]) -> list[dict]:
            return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": oid} for n, oid in sorted(table.items())]

        body = {"branches": refs("heads", repo.branches), "converts": [], "tags": refs("tags", repo.tags)}
        if request.url.params.get("include_prs"):
            body["pullRequests"] = []
        return httpx2.Response(200, json=body)

    def entry(self, path: str, content: bytes) -> dict:
        """A tree entry in the Hub's shape, LFS-style for `lfs_suffixes`."""
        if not path.endswith(self.lfs_suffixes):
            return {"type": "file", "oid": git_oid(content), "size": len(content), "path": path}
        pointer = lfs_pointer(content)
        lfs = {"oid": hashlib.sha256(content).hexdigest(), "size": len(content), "pointerSize": len(pointer)}
        return {"type": "file", "oid": git_oid(pointer), "size": len(content), "path": path, "lfs": lfs}

    def tree(self, request: httpx2.Request, repo: FakeRepo, rest: list[str]) -> httpx2.Response:
        """GET /api/{type}s/{id}/tree/{rev}[/{path}]?recursive=...: folders and files under a path."""
        commit = repo.resolve(rest[0])
        base = "/".join(rest[1:])
        prefix = f"{base}/" if base else ""
        recursive = request.url.params.get("recursive", "").lower() == "true"
        folders, files = set(), []
        for path, content in sorted(commit.files.items()):
            below = path[len(prefix) :].split("/") if path.startswith(prefix) else []
            if recursive and below:
                folders.update(prefix + "/".join(below[: i + 1]) for i in range(len(below) - 1))
                files.append(self.entry(path, content))
            elif len(below) == 1:
                files.append(self.entry(path, content))
            elif below:
                folders.add(prefix + below[0])
        if base and not files and not folders:
            raise Reply(404, f"Entry not found: {base}", "EntryNotFound")
        dirs = [{"type": "directory", "oid": git_oid(d.encode()), "size": 0, "path": d} for d in sorted(folders)]
        return httpx2.Response(200, json=dirs + files)

    def preupload(self, request: httpx2.Request, repo: FakeRepo, rest: list[str]) -> httpx2.Response:
        """POST /api/{type}s/{id}/preupload/{rev}: every file is "regular" (no LFS or xet transfer)."""
        commit = repo.resolve(rest[0])
        answers = []
        for file in json.loads(request.content)["files"]:
            assert {"path", "sample", "size"} <= file.keys(), file
            answer = {"path": file["path"], "uploadMode": "regular", "shouldIgnore": False}
            if file["path"] in commit.files:
                answer["oid"] = git_oid(commit.files[file["path"]])
            answers.append(answer)
        return httpx2.Response(200, json={"files": answers, "commitOid": commit.oid})

    def commit(self, request: httpx2.Request, repo: FakeRepo, rest: list[str]) -> httpx2.Response:
        """POST /api/{type}s/{id}/commit/{branch}: apply an ndjson commit; 412 if `parentCommit` is not the head."""
        branch = rest[0]
        if branch not in repo.branches:
            raise Reply(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        assert request.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in request.content.decode().splitlines() if line]
        header = lines[0]["value"]
        head = repo.commits[repo.branches[branch]]
        if header.get("parentCommit") not in (None, head.oid):
            raise Reply(412, "A commit has happened since. Please refresh and try again.")
        files = dict(head.files)
        for line in lines[1:]:
            self.apply(files, line["key"], line["value"])
        commit = self.new_commit(repo, files, header["summary"], head.oid)
        repo.branches[branch] = commit.oid
        return httpx2.Response(
            200, json={"success": True, "commitOid": commit.oid, "commitUrl": f"{repo.url}/commit/{commit.oid}"}
        )

    def apply(self, files: dict[str, bytes], key: str, value: dict) -> None:
        """Apply one commit operation (regular file, deleted file or folder); anything else is unexpected."""
        if key == "file" and value["encoding"] == "base64":
            files[value["path"]] = base64.b64decode(value["content"])
        elif key == "deletedFile":
            if value["path"] not in files:
                raise Reply(404, "A file with this name doesn't exist", "EntryNotFound")
            del files[value["path"]]
        elif key == "deletedFolder":
            for path in [p for p in files if p.startswith(value["path"].rstrip("/") + "/")]:
                del files[path]
        else:
            self.unexpected.append(f"commit operation {key}")
            raise Reply(400, f"the fake hub does not accept {key} operations")

    def tag(self, request: httpx2.Request, repo: FakeRepo, rest: list[str]) -> httpx2.Response:
        """POST /api/{type}s/{id}/tag/{rev}: 409 if the tag exists."""
        commit = repo.resolve(rest[0])
        name = json.loads(request.content)["tag"]
        if name in repo.tags:
            raise Reply(409, "Tag already exists")
        repo.tags[name] = commit.oid
        return httpx2.Response(200, json={})

    # -------------------------------------------------------------- downloads

    def resolve_file(self, request: httpx2.Request, segments: list[str]) -> httpx2.Response:
        """HEAD/GET /[datasets/]{id}/resolve/{rev}/{path}: the file, or a CDN redirect for LFS files."""
        repo_type = TYPES.get(segments[0], "model")
        start = 1 if segments[0] in TYPES else 0
        repo_id, revision = "/".join(segments[start : start + 2]), segments[start + 3]
        path = "/".join(segments[start + 4 :])
        commit = self.find(request, repo_type, repo_id, write=False).resolve(revision)
        if path not in commit.files:
            raise Reply(404, "Entry not found", "EntryNotFound", **{"X-Repo-Commit": commit.oid})
        content = commit.files[path]
        entry = self.entry(path, content)
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{entry["oid"]}"'}
        if "lfs" in entry:
            sha = entry["lfs"]["oid"]
            headers |= {"Location": f"{CDN}/{sha}", "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(content))}
            return httpx2.Response(302, headers=headers)
        headers["Content-Length"] = str(len(content))
        return httpx2.Response(200, headers=headers, content=content if request.method == "GET" else b"")

    def cdn(self, request: httpx2.Request, sha: str) -> httpx2.Response:
        """GET on the CDN host: LFS content by sha256; the Hub token must not be sent there."""
        if "authorization" in request.headers:
            self.unexpected.append("authorization header sent to the CDN")
        for repo in self.repos.values():
            for commit in repo.commits.values():
                for content in commit.files.values():
                    if hashlib.sha256(content).hexdigest() == sha:
                        return httpx2.Response(200, content=content)
        raise Reply(404, "Not found")


def seed_repo(hub: FakeHub, repo_id: str, files: dict[str, bytes], tag: str, repo_type: str = "dataset") -> Commit:
    """A public repo holding one commit of `files` (paths stored as given, as another client might have sent
    them), on `main` and under `tag`."""
    repo = FakeRepo(repo_id, repo_type, private=False)
    hub.repos[(repo_type, repo_id)] = repo
    commit = hub.new_commit(repo, files, "seeded", None)
    repo.branches["main"] = repo.tags[tag] = commit.oid
    return commit


@contextmanager
def online(fake: FakeHub, monkeypatch: Any, tmp_path: Path, token: str) -> Iterator[FakeHub]:
    """`fake` installed at HF_ENDPOINT with HF_TOKEN `token` and its own huggingface_hub cache, online (not
    HF_HUB_OFFLINE) for one test; afterwards no request may have reached an endpoint the fake does not serve."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("HF_TOKEN", token)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    with fake.installed():
        yield fake
    assert fake.unexpected == []
