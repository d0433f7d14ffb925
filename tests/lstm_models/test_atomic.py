"""Write-then-rename (lstm_models/atomic.py): a failed write leaves the old file or folder as it
was and nothing half-written beside it."""
import pytest

from lstm_models.atomic import atomic_file, atomic_folder, move_into_place, new_folder


def test_a_failed_file_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out" / "x.json"
    with atomic_file(target) as tmp:
        tmp.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_folders_appear_whole_and_a_taken_name_is_not_overwritten(tmp_path):
    target = tmp_path / "v0001"
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("first")
    rival = new_folder(target)
    (rival / "a.txt").write_text("second")
    with pytest.raises(OSError):
        move_into_place(rival, target)  # another writer took the name first
    assert (target / "a.txt").read_text() == "first"
    move_into_place(rival, target, replace=True)
    assert (target / "a.txt").read_text() == "second"
    with pytest.raises(ValueError), atomic_folder(target, replace=True) as tmp:
        (tmp / "a.txt").write_text("third")
        raise ValueError("failed stage")
    assert (target / "a.txt").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v0001"]
