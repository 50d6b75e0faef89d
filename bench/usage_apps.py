"""The app `forge serve` runs, with key-usage recording on and off, for `bench/key_usage.py`.
Both are served the same way (uvicorn CLI, `--factory`), so recording is the only difference."""

from fastapi import FastAPI

from forge import logs
from forge.app import create_app
from forge.keys.usage import UsageRecorder
from forge.principal import Principal


class RecordingOff(UsageRecorder):
    def record(self, principal: Principal, ip: str) -> None:
        return None


def tracking_on() -> FastAPI:
    logs.configure()  # the same access log as `forge serve`
    return create_app()


def tracking_off() -> FastAPI:
    application = tracking_on()
    application.state.usage = RecordingOff()
    return application
