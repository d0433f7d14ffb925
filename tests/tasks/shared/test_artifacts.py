"""Where the UI's images and Data Docs live: what the Prefect database stores for them."""

from tasks.shared.artifacts import image_link, publish_data_docs
from tasks.shared.config import DataDocsConfig


def test_images_go_to_object_storage_and_only_local_runs_embed_them(tmp_path):
    """The Prefect database keeps an image artifact's URL: a data: URI (the whole PNG) only for
    a local run; with docs.publish_to the PNG is copied there and linked through docs.base_url;
    with a registry on object storage the link is the version's own PNG there."""
    png = tmp_path / "loss_curves.png"
    png.write_bytes(b"\x89PNG fake")
    assert image_link("sentiment", png, "v0001", str(tmp_path / "reg"), DataDocsConfig()).startswith("data:image/png;base64,")
    docs = DataDocsConfig(publish_to=str(tmp_path / "site"), base_url="https://docs.example.com/lstm")
    assert image_link("sentiment", png, "v0003", "s3://models/registry/sentiment/versions/v0003", docs) == \
        "https://docs.example.com/lstm/sentiment/plots/v0003/loss_curves.png"
    assert (tmp_path / "site" / "sentiment" / "plots" / "v0003" / "loss_curves.png").read_bytes() == png.read_bytes()
    assert image_link("forecast", png, "v0002", "s3://models/registry/forecast/versions/v0002", DataDocsConfig()) == \
        "s3://models/registry/forecast/versions/v0002/loss_curves.png"


def test_data_docs_publish_to_a_local_folder_with_its_subfolders(tmp_path):
    site = tmp_path / "run" / "validate" / "key1" / "data_docs"
    (site / "expectations").mkdir(parents=True)
    (site / "index.html").write_text("<html>index</html>")
    (site / "expectations" / "reviews-v1.html").write_text("<html>suite</html>")
    docs = DataDocsConfig(publish_to=str(tmp_path / "published"), base_url="https://docs.example.com")
    assert publish_data_docs("sentiment", site / "index.html", docs) == "https://docs.example.com/sentiment/key1/index.html"
    assert (tmp_path / "published" / "sentiment" / "key1" / "expectations" / "reviews-v1.html").read_text() == \
        "<html>suite</html>"
