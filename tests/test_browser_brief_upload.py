"""The Brief page's draft uploader in a real browser: the message beside it is always about
the file it lists. Streamlit's own type filter runs in the browser only, so AppTest cannot
see what it did: a rejected file stayed listed while the page kept the previous file's error
or preview (and its enabled Write button)."""

import io

from PIL import Image

from tests.test_browser_e2e import CHROMIUM, CHROMIUM_ARGS, streamlit_server, wait_for_script_to_finish


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (30, 60, 120)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_each_upload_replaces_the_last_and_its_message_names_it(tmp_path, demo_models_dir):
    from playwright.sync_api import expect, sync_playwright

    with streamlit_server(tmp_path, demo_models_dir) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        try:
            page.goto(f"{url}/brief")
            expect(page.get_by_role("heading", name="Brief", exact=True)).to_be_visible(timeout=90_000)
            dropzone = page.get_by_test_id("stFileUploaderDropzoneInput")
            listed = page.get_by_test_id("stFileChipName")
            errors = page.get_by_test_id("stAlertContentError")
            write = page.get_by_role("button", name="Write the brief")

            def upload(name: str, mime: str, data: bytes) -> None:
                dropzone.set_input_files(files=[{"name": name, "mimeType": mime, "buffer": data}])
                expect(listed).to_have_text([name])  # one file at a time: it replaced the last

            def expect_one_error(text: str) -> None:
                expect(errors).to_have_count(1, timeout=30_000)
                expect(errors.first).to_contain_text(text)

            upload("bad.png", "image/png", b"not an image at all")
            expect_one_error("bad.png is not an image we can read. Upload a PNG, JPEG or WebP file.")

            upload("anim.gif", "image/gif", image_bytes("GIF"))
            expect_one_error("anim.gif is a GIF image. Upload the draft as PNG, JPEG or WebP.")

            upload("good.png", "image/png", image_bytes("PNG"))
            expect(page.get_by_text("good.png · 300×200 PNG")).to_be_visible(timeout=30_000)
            expect(errors).to_have_count(0)
            expect(write).to_be_enabled()

            upload("anim.gif", "image/gif", image_bytes("GIF"))
            expect_one_error("anim.gif is a GIF image. Upload the draft as PNG, JPEG or WebP.")
            expect(page.get_by_text("good.png · 300×200 PNG")).to_have_count(0)
            expect(write).to_be_disabled()

            page.get_by_role("button", name="Remove anim.gif").click()
            expect(listed).to_have_count(0)
            wait_for_script_to_finish(page)
            expect(errors).to_have_count(0)
            expect(write).to_be_disabled()
        finally:
            browser.close()
