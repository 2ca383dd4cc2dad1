"""The model base class: what the OCI types get in place of ``@dataclass(frozen=True)``."""

import pytest

from dockpy.image.jsonmodel import REQUIRED, JsonModel, oci_field


class Pair(JsonModel):
    name: str = oci_field("Name", REQUIRED)
    count: int = oci_field("Count", 0, always=True)
    tags: tuple[str, ...] | None = oci_field("Tags", as_set=True)


class Labelled(Pair):
    label: str | None = oci_field("Label")


def test_fields_are_taken_by_position_or_by_name_with_defaults():
    assert Pair("a", 2) == Pair(count=2, name="a")
    assert (Pair("a").count, Pair("a").tags) == (0, None)


@pytest.mark.parametrize("make, message", [
    (lambda: Pair(), "needs 'name'"),
    (lambda: Pair("a", 1, (), "extra"), "takes 3 values, 4 given"),
    (lambda: Pair("a", name="b"), "got 'name' twice"),
    (lambda: Pair("a", size=1), "has no field 'size'"),
])
def test_wrong_constructor_arguments_are_type_errors(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_a_model_is_immutable_and_replace_makes_a_changed_copy():
    pair = Pair("a", 1)
    with pytest.raises(AttributeError, match="immutable"):
        pair.count = 2
    assert pair.replace(count=2) == Pair("a", 2) and pair.count == 1
    with pytest.raises(TypeError, match="no field 'size'"):
        pair.replace(size=3)


def test_equal_models_hash_alike_and_other_types_are_never_equal():
    assert hash(Pair("a", 1, ("x",))) == hash(Pair("a", 1, ("x",)))
    assert Pair("a") != Pair("b") and Pair("a") != Labelled("a") and Pair("a") != ("a", 0, None)


def test_repr_shows_every_field():
    assert repr(Pair("a", tags=("x",))) == "Pair(name='a', count=0, tags=('x',))"


def test_a_model_has_slots_only():
    with pytest.raises(AttributeError):
        object.__setattr__(Pair("a"), "other", 1)


def test_a_subclass_extends_its_bases_fields_in_json_too():
    labelled = Labelled("a", 1, ("y", "x"), label="l")
    assert labelled.to_json() == {"Name": "a", "Count": 1, "Tags": {"x": {}, "y": {}}, "Label": "l"}
    assert Labelled.from_json(labelled.to_json()) == labelled.replace(tags=("x", "y"))


def test_an_annotated_attribute_that_is_not_a_field_is_refused():
    with pytest.raises(TypeError, match="Broken.size: a model's annotated attributes must be oci_field"):
        type("Broken", (JsonModel,), {"__annotations__": {"size": "int"}, "size": 3})
