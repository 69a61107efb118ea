from ninja import NinjaAPI

api = NinjaAPI(title="gongzhi 共治 API", version="1", urls_namespace="api")
