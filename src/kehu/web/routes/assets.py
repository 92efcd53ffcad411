"""Files browsers ask for at fixed addresses (the favicon), open to everyone."""

from fastapi import APIRouter
from starlette.responses import FileResponse

from kehu.web import STATIC_DIR

router = APIRouter()

FAVICON = STATIC_DIR / "img" / "favicon.svg"


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Serve the console's icon (an SVG) where browsers look for it by default."""
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )
