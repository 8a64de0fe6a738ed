"""The service layer: speaks HTTP to the WeShop AI OpenAPI (client, transport, envelope,
models, errors, images, thumbnails, events). Knows requests and Pillow; imports nothing
above it. Its public names are re-exported by ``weshop_nb``."""
