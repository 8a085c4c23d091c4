"""vidgate's provider emulator: a real HTTP server speaking the providers' documented protocols."""

from vidgate.emulator.app import create_app
from vidgate.emulator.fault_plan import FaultPlan, FaultRule, LateFailure
from vidgate.emulator.server import EmulatorServer
from vidgate.emulator.state import DEFAULT_KEY, POLICY_FAIL_REASON, EmulatorConfig, EmulatorState

__all__ = [
    "DEFAULT_KEY",
    "POLICY_FAIL_REASON",
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorState",
    "FaultPlan",
    "FaultRule",
    "LateFailure",
    "create_app",
]
