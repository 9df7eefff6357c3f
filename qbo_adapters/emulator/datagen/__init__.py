"""The data generator: seeded, realistic QuickBooks Online companies for the emulator.

- `generator`: `generate_company(seed=, size=, realm_id=, now=)` and the preset `SIZES`;
- `empty`: size "empty" (a chart of accounts and two tax codes, nothing else);
- `company`: `CompanySize` and `GeneratedCompany`, what the builders return;
- `words`: names, places, industries and the chart of accounts they draw from;
- `integrity`: `validate_integrity`, the consistency rules a company (generated or
  stored after writes) must hold.

Entity names, account classification and posting rules come from `emulator.books`.
"""

from qbo_adapters.emulator.books import CANONICAL_ENTITY_NAMES
from qbo_adapters.emulator.datagen.company import CompanySize, GeneratedCompany
from qbo_adapters.emulator.datagen.empty import EMPTY
from qbo_adapters.emulator.datagen.generator import SIZES, SizeName, generate_company
from qbo_adapters.emulator.datagen.integrity import validate_integrity

__all__ = [
    "CANONICAL_ENTITY_NAMES",
    "EMPTY",
    "SIZES",
    "CompanySize",
    "GeneratedCompany",
    "SizeName",
    "generate_company",
    "validate_integrity",
]
