"""The pytest plugin, run as a user's project runs it: test files in a fresh project, with pytester.

Most runs are in-process (fast, and measured by coverage); the one that checks what the plugin
imports runs in a fresh interpreter.
"""

from __future__ import annotations

import re
from pathlib import Path
from textwrap import dedent

# The emulator's server stack is imported here, once: an in-process run forgets the modules it
# imported, so each would import it again.
import hypercorn.asyncio  # noqa: F401
import pytest

import replicatehome.emulator._routes  # noqa: F401

pytest_plugins = ["pytester"]

DOCS = Path(__file__).parent.parent.parent / "docs" / "testing.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
# Hypothesis's plugin imports all of hypothesis at the end of every run: seconds, for nothing.
ARGS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-W", "error")


def run(pytester: pytest.Pytester, source: str, *args: str, mode: str = "auto") -> pytest.RunResult:
    """Run `source` as the only test file of a project with pytest-asyncio in `mode`."""
    configure(pytester, mode)
    pytester.makepyfile(dedent(source))
    return pytester.runpytest(*ARGS, "--strict-markers", *args)


def configure(pytester: pytest.Pytester, mode: str = "auto") -> None:
    """The project's pytest configuration: pytest-asyncio's `mode`, and its loop scope set."""
    pytester.makeini(
        f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n"
    )


def test_each_fixture_works(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        from replicatehome import AsyncClient, Client
        from replicatehome.emulator import Emulator, emulated_text

        GEMMA = "google-deepmind/gemma-2b-it"
        seen = []


        def test_emulator(replicatehome_emulator):
            assert isinstance(replicatehome_emulator, Emulator)
            assert replicatehome_emulator.running
            assert replicatehome_emulator.config.duration == 0.05
            seen.append(replicatehome_emulator)


        def test_client(replicatehome_client, replicatehome_emulator):
            assert isinstance(replicatehome_client, Client)
            assert replicatehome_client.base_url == replicatehome_emulator.url
            assert replicatehome_client.backend == "homepage"
            assert replicatehome_client.generate_text("hi").text == emulated_text(GEMMA, "hi")
            image = replicatehome_client.generate_image("a fox")
            assert image.read().startswith(b"RIFF")  # SD3 draws WebP unless told otherwise
            assert replicatehome_emulator.stats.predictions == 2
            seen.append(replicatehome_emulator)


        async def test_async_client(replicatehome_async_client, replicatehome_emulator):
            assert isinstance(replicatehome_async_client, AsyncClient)
            assert replicatehome_async_client.base_url == replicatehome_emulator.url
            chunks = [chunk async for chunk in replicatehome_async_client.stream_text("hi")]
            assert "".join(chunks) == emulated_text(GEMMA, "hi")
            image = await replicatehome_async_client.generate_image("a fox", output_format="png")
            assert (await image.aread()).startswith(b"\\x89PNG")
            seen.append(replicatehome_emulator)


        def test_one_emulator_serves_the_session():
            assert len(seen) == 3 and seen[0] is seen[1] is seen[2]
        """,
    )
    result.assert_outcomes(passed=4)


# Both plugins wrap the fixtures of an anyio test: which one wins depends on the order they were
# loaded in, so the fixture must not leave the choice to them. `-p anyio` loads anyio's first.
@pytest.mark.parametrize("order", [(), ("-p", "anyio")], ids=["usual-order", "anyio-first"])
def test_the_async_client_runs_under_pytest_asyncio_strict_mode_and_anyio(
    pytester: pytest.Pytester, order: tuple[str, ...]
) -> None:
    result = run(
        pytester,
        """
        import pytest


        @pytest.mark.asyncio
        async def test_asyncio(replicatehome_async_client):
            assert (await replicatehome_async_client.generate_text("hi")).text


        @pytest.mark.anyio
        async def test_anyio(replicatehome_async_client):
            assert (await replicatehome_async_client.generate_text("hi")).text
        """,
        *order,
        mode="strict",
    )
    result.assert_outcomes(passed=2)


def test_the_marker_chooses_protocol_duration_and_options(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest
        from replicatehome import AuthenticationError
        from replicatehome.testing import API_TOKEN

        pytestmark = pytest.mark.replicatehome(protocol="official")
        emulators = []


        def test_the_module_marker(replicatehome_client, replicatehome_emulator):
            assert replicatehome_client.backend == "official"
            result = replicatehome_client.generate_text("hi")
            assert result.prediction.metrics.predict_time == pytest.approx(0.05)
            assert replicatehome_emulator.stats.requests["create"] == 1
            emulators.append(replicatehome_emulator)


        @pytest.mark.replicatehome(duration=0.3)
        async def test_a_closer_marker_adds_to_it(
            replicatehome_async_client, replicatehome_emulator
        ):
            assert replicatehome_async_client.backend == "official"
            result = await replicatehome_async_client.generate_text("hi")
            assert result.prediction.metrics.predict_time == pytest.approx(0.3)
            emulators.append(replicatehome_emulator)


        @pytest.mark.replicatehome(protocol="homepage")
        def test_and_overrides_it(replicatehome_client, replicatehome_emulator):
            assert replicatehome_client.backend == "homepage"
            assert replicatehome_client.generate_text("hi").text
            emulators.append(replicatehome_emulator)


        @pytest.mark.replicatehome(api_tokens=frozenset({"r8_someone_else"}))
        def test_other_options_configure_the_emulator(replicatehome_client):
            with pytest.raises(AuthenticationError):
                replicatehome_client.generate_text("hi")


        @pytest.mark.replicatehome(api_tokens=frozenset({API_TOKEN}))
        async def test_the_clients_send_the_test_token(replicatehome_async_client):
            assert (await replicatehome_async_client.generate_text("hi")).text


        def test_each_configuration_has_its_emulator():
            default, slow, homepage = emulators
            assert default is homepage and slow is not default
            assert slow.config.duration == 0.3


        @pytest.mark.replicatehome(protocol="grpc")
        def test_unknown_protocol(replicatehome_client):
            pass


        @pytest.mark.replicatehome(durashun=1.0)
        def test_unknown_option(replicatehome_emulator):
            pass
        """,
    )
    result.assert_outcomes(passed=6, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ValueError: protocol must be 'homepage' or 'official', not 'grpc'",
            "*TypeError: *unexpected keyword argument 'durashun'",
        ]
    )


def test_faults_and_state_do_not_leak_into_the_next_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest
        from replicatehome import NotFoundError, PredictionFailedError
        from replicatehome.emulator import Faults

        urls = set()
        made = []


        def test_sets_faults(replicatehome_client, replicatehome_emulator):
            replicatehome_emulator.faults = Faults(failure_rate=1.0)
            with pytest.raises(PredictionFailedError) as failed:
                replicatehome_client.generate_text("hi")
            made.append(failed.value.prediction.id)
            urls.add(replicatehome_emulator.url)


        async def test_starts_clean(replicatehome_async_client, replicatehome_emulator):
            assert replicatehome_emulator.faults == Faults()
            assert replicatehome_emulator.stats.requests == {}
            assert (await replicatehome_async_client.generate_text("hi")).text
            with pytest.raises(NotFoundError):  # the last test's prediction is gone
                await replicatehome_async_client.predictions.get(made[0])
            urls.add(replicatehome_emulator.url)


        # Polls are retried at once: creates would wait for the client's back-off.
        @pytest.mark.replicatehome(
            faults=Faults(server_error_rate=1.0, max_faults=1, routes=frozenset({"poll"}))
        )
        async def test_marker_faults(replicatehome_async_client, replicatehome_emulator):
            assert (await replicatehome_async_client.generate_text("hi")).text
            assert replicatehome_emulator.stats.faults == 1
            urls.add(replicatehome_emulator.url)


        def test_starts_clean_again(replicatehome_client, replicatehome_emulator):
            assert replicatehome_emulator.faults == Faults()
            assert replicatehome_emulator.stats.faults == 0
            assert replicatehome_client.generate_text("hi").text
            assert len(urls) == 1  # the same emulator all along: reset, not restarted
        """,
    )
    result.assert_outcomes(passed=4)


def test_the_mock_needs_no_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPLICATEHOME_BASE_URL")  # clients go to the SDK's default hosts
    result = run(
        pytester,
        """
        import pytest
        import respx
        from replicatehome import AsyncClient, Client, PredictionFailedError
        from replicatehome.testing import mock_replicatehome

        PNG = b"\\x89PNG\\r\\n\\x1a\\n" + bytes(16)


        def test_canned_text(replicatehome_mock):
            with Client() as client:
                assert client.generate_text("hi").text == "This is mocked output."
            assert replicatehome_mock.inputs == [{"prompt": "hi"}]


        async def test_official_api(replicatehome_mock):
            replicatehome_mock.reply(["Bon", "jour"])
            async with AsyncClient(api_token="r8_x") as client:
                assert (await client.generate_text("hi")).text == "Bonjour"
                prediction = await client.predictions.get("mock-1")
            assert prediction.status == "succeeded"
            assert replicatehome_mock.route.call_count == 2
            assert replicatehome_mock.route.calls.last.request.url.path == "/v1/predictions/mock-1"


        def test_failures(replicatehome_mock):
            replicatehome_mock.reply(None, status="failed", error="CUDA out of memory")
            with Client() as client, pytest.raises(PredictionFailedError, match="CUDA"):
                client.generate_text("hi")
            with pytest.raises(ValueError, match="status must be one of"):
                replicatehome_mock.reply(status="done")


        def test_images_with_a_route_of_their_own(replicatehome_mock):
            url = "https://files.example/out-0.png"
            replicatehome_mock.reply([url])
            replicatehome_mock.router.get(url).respond(content=PNG)
            with Client() as client:
                assert client.generate_image("a fox").read() == PNG


        def test_nothing_else_gets_through(replicatehome_mock):
            with Client(base_url="http://elsewhere.test") as client:
                with pytest.raises(AssertionError, match="not mocked"):
                    client.generate_text("hi")


        @pytest.fixture
        def server_from_environment(monkeypatch):
            monkeypatch.setenv("REPLICATEHOME_BASE_URL", "http://env.test")


        def test_the_environment_server_is_mocked(server_from_environment, replicatehome_mock):
            with Client() as client:
                assert client.generate_text("hi").text


        def test_with_a_router_of_your_own():
            with respx.mock() as router:
                mocked = mock_replicatehome(router, ["ok"], base_url="http://mine.test/")
                with Client(base_url="http://mine.test") as client:
                    assert client.generate_text("hi").text == "ok"
            assert mocked.inputs == [{"prompt": "hi"}]
        """,
    )
    result.assert_outcomes(passed=7)


def test_fixture_names_do_not_collide_with_the_projects_own(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest


        @pytest.fixture
        def client():
            return "the app's client"


        @pytest.fixture
        def emulator():
            return "the app's emulator"


        @pytest.fixture
        def mock():
            return "the app's mock"
        """
    )
    result = run(
        pytester,
        """
        def test_both(client, emulator, mock, replicatehome_client, replicatehome_emulator):
            assert client == "the app's client"
            assert (emulator, mock) == ("the app's emulator", "the app's mock")
            assert replicatehome_client.base_url == replicatehome_emulator.url
        """,
    )
    result.assert_outcomes(passed=1)
    listed = pytester.runpytest("--fixtures", *ARGS).stdout.str()
    for name in ("emulator", "client", "async_client", "mock"):
        assert re.search(rf"^replicatehome_{name} -- .*replicatehome/testing/_plugin", listed, re.M)


def test_missing_extras_fail_only_the_tests_that_need_them(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import sys
        import pytest


        @pytest.fixture
        def without_the_emulator_extra(monkeypatch):
            for name in ("starlette", "hypercorn"):
                monkeypatch.setitem(sys.modules, name, None)  # as if not installed


        @pytest.fixture
        def without_respx(monkeypatch):
            monkeypatch.setitem(sys.modules, "respx", None)


        def test_needs_none_of_them(without_the_emulator_extra, without_respx):
            pass


        def test_client(without_the_emulator_extra, replicatehome_client):
            pass


        def test_mock(without_respx, replicatehome_mock):
            pass
        """,
    )
    result.assert_outcomes(passed=1, errors=2)
    output = result.stdout.str()
    assert (
        "The replicatehome_emulator fixture needs starlette and hypercorn: "
        "pip install 'replicatehome[emulator]'"
    ) in output
    assert "The replicatehome_mock fixture needs respx: pip install respx" in output


def test_the_plugin_is_inert_until_a_fixture_is_used(pytester: pytest.Pytester) -> None:
    configure(pytester)
    pytester.makepyfile(
        """
        import sys
        import threading


        def test_nothing_heavy_was_imported(pytestconfig):
            assert pytestconfig.pluginmanager.has_plugin("replicatehome")
            loaded = {name for name in sys.modules if name.startswith("replicatehome")}
            assert loaded <= {
                "replicatehome",
                "replicatehome._version",
                "replicatehome.testing",
                "replicatehome.testing._mock",
                "replicatehome.testing._plugin",
                "replicatehome.testing._settings",
            }, loaded
            assert not {"starlette", "hypercorn"} & set(sys.modules)
            assert not [t for t in threading.enumerate() if t.name == "replicatehome-emulator"]
        """
    )
    result = pytester.runpytest_subprocess(*ARGS, timeout=60)
    result.assert_outcomes(passed=1)


def test_the_docs_examples_pass_as_tests(pytester: pytest.Pytester) -> None:
    # test_docs.py runs these blocks too, but only calls the tests that take no fixtures.
    blocks = BLOCK.findall(DOCS.read_text())
    for number, code in enumerate(blocks, start=1):
        pytester.makepyfile(**{f"test_testing_md_{number}": code})
    tests = sum(len(re.findall(r"^(async )?def test_", code, re.M)) for code in blocks)
    configure(pytester)
    result = pytester.runpytest(*ARGS, "--strict-markers")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert result.parseoutcomes()["passed"] >= tests > len(blocks) / 2
