"""frechet is installed from its checkout, not from a package index: no page or message tells a user to
``pip install 'frechet[EXTRA]'``; extras are installed with ``pip install -e ".[EXTRA]"`` in the checkout, or their
packages by name."""

from __future__ import annotations

import re

import pytest

from docblocks import REPO, documented_pages
from frechet.errors import ConfigError
from frechet.optional import import_optional, install_extra

#: ``pip install frechet[x]`` in any quoting: an install from a package index that has no frechet.
_FROM_AN_INDEX = re.compile(r"""pip install\s+(?:-\S+\s+)*['"]?frechet\[""")


def test_no_page_or_source_installs_frechet_from_a_package_index():
    files = [*documented_pages(), *sorted((REPO / "frechet").rglob("*.py")), *sorted((REPO / "plugins").rglob("*.py"))]
    found = [f"{path.relative_to(REPO)}:{number}" for path in files
             for number, line in enumerate(path.read_text().splitlines(), start=1) if _FROM_AN_INDEX.search(line)]
    assert not found, f"install frechet's extras from the checkout (pip install -e \".[EXTRA]\"): {found}"


def test_a_missing_extra_names_its_package_and_the_checkout_install():
    with pytest.raises(ConfigError) as error:
        import_optional("frechet_no_such_package", "plots", install_extra("report", "frechet_no_such_package"))
    assert str(error.value).endswith("pip install frechet_no_such_package (or, in frechet's checkout, pip install -e "
                                     "'.[report]')")
    assert not _FROM_AN_INDEX.search(str(error.value))
