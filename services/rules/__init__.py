"""Rules as data: rule files, the default pack, evaluation and the rule service."""

from services.rules.engine import RuleEngine
from services.rules.load import RuleError, check_files, default_pack, load_rules
from services.rules.model import Rule, RuleBase
from services.rules.service import RuleService, load_configuration

__all__ = [
    "Rule",
    "RuleBase",
    "RuleEngine",
    "RuleError",
    "RuleService",
    "check_files",
    "default_pack",
    "load_configuration",
    "load_rules",
]
