# 用户可能看到的每一条提示：稳定的代码 = 中文文本（Project Fluent 格式）。
# 每个代码也必须出现在 messages.en.ftl 中，且使用相同的参数；src/messages.rs 的测试会检查。
# 金额参数已按“元”写好（千位分隔、两位小数）。


auth-bad-login = 用户名或密码错误
auth-bearer-expected = 请以 Authorization: Bearer <令牌> 的形式提供令牌
auth-header-malformed = Authorization 请求头格式有误
auth-no-token = 请先登录：请求未带令牌
auth-session-ended = 登录已失效，请重新登录
auth-token-invalid = 令牌无效或已过期，请重新登录（{ $detail }）
auth-token-subject = 令牌的用户标识无效

bad-json = 请求内容不是有效的 JSON：{ $detail }
bad-multipart = 上传内容格式有误：{ $detail }
bad-query = 查询参数有误：{ $detail }

conflict-appeal-decided = 申诉 { $id } 已作出决定
conflict-batch-changed = 导出期间该批次的支付有变动，请重试
conflict-batch-claims = 生成批次期间待支付的报销单有变动，请重试
conflict-batch-exported = 支付批次 { $id } 已被他人导出
conflict-case-changed = 案件 { $case } 在您办理时被他人更新，请刷新后重试
conflict-case-leased = 案件 { $case } 正由用户 { $holder } 办理（锁定至 { $until }），请对方释放或由科长改派
conflict-case-version = 案件 { $case } 已被他人更新（当前版本 { $version }，您看到的是 { $expected }），请刷新后重试
conflict-concurrent = 该记录正被他人同时修改，请刷新后重试（{ $detail }）
conflict-facility-exists = 编码为 { $code } 的定点机构已存在
conflict-idempotency = 这个 Idempotency-Key 已用于另一份不同的申请
conflict-leased-by-other = 案件 { $case } 正由他人办理
conflict-not-leased = 案件 { $case } 当前无人领取
conflict-payment-not-waiting = 流水号 { $reference } 的支付已不在等待银行回单
conflict-person-exists = 身份证号为 { $id } 的参保人已存在
conflict-report-closed = 该举报已办结，不能再补充文件

detail = { $text }

field-above-policy = { $amount } 元超过了按现行政策可报销的 { $computed } 元
field-absence-reason = 请说明原因（休假、培训等）
field-account-not-linked = 您的账号尚未关联参保人，请到经办窗口办理
field-amount-at-most = 金额最多 { $max } 元
field-amount-range = 金额应在 0 到 { $max } 元之间
field-at-most-chars = 最多 { $max } 个字符
field-between = 应在 { $min } 到 { $max } 之间
field-body-json = 请求内容与接口要求不符：{ $detail }
field-case-number = 应为案件编号，收到的是“{ $value }”
field-clerk-needs-id = 经办人代为申请时须填写参保人身份证号
field-cursor = 翻页参数无效，请使用上一页返回的 next 值
field-date = 应为日期（年-月-日，如 2026-01-31），收到的是“{ $value }”
field-discharge-before-admission = 出院日期 { $discharge } 早于入院日期 { $admission }
field-email = 不是有效的电子邮箱地址
field-emergency-claims-only = 只有报销案件才需认定是否急诊
field-emergency-parts = 急诊情况说明须写明时间、地点、原因、证明人及其联系方式
field-emergency-reviewers-only = 只有审核人员可以认定是否急诊
field-end-before-start = 结束日期早于开始日期
field-exceeds-total = 不能超过费用总额
field-file-empty = 文件是空的
field-file-missing = 请选择要上传的文件
field-icd10 = 应为 ICD-10 诊断编码（如 S72.001），收到的是“{ $value }”
field-id-says = 与身份证号不符：身份证号显示为 { $value }
field-idempotency-ascii = 只能包含可见的 ASCII 字符
field-inspection-facility = 检查记录 { $id } 检查的是 { $inspected }，不是 { $facility }
field-invoice-number = 发票号应为 1 到 { $max } 位字母或数字，中间可用 - _ / . 分隔
field-invoice-required = 至少填写一张发票号
field-kind-missing = 请选择材料类型
field-length = 长度应为 { $min } 到 { $max } 个字符
field-length-got = 长度应为 { $min } 到 { $max } 个字符，现为 { $got } 个
field-lines-sum = 明细合计 { $sum } 元，与费用总额 { $total } 元不符
field-negative = 不能为负数
field-no-claim = 没有编号为 { $id } 的报销单
field-no-inspection = 没有编号为 { $id } 的检查记录
field-no-person = 没有该身份证号的参保人
field-no-workflow = 报销类别“{ $family }”没有已发布的流程
field-number = 应为数字，收到的是“{ $value }”
field-one-of = 应为以下之一：{ $allowed }；收到的是“{ $value }”
field-override-reason = 调整测算金额须说明理由
field-partial-below = 部分报销的金额须少于测算的 { $computed } 元
field-partial-needs-amount = 部分报销须填写核定金额
field-password-short = 密码至少 { $min } 个字符
field-positive = 须大于 0
field-province-admin-only = 只有省级管理员可以新增省级区划
field-reason-length = 请填写原因，最多 { $max } 字节
field-region-code = 应为 6 位行政区划代码，收到的是“{ $value }”
field-region-county-leaf = 县级区划之下不能再设下级区划
field-region-exists = 行政区划 { $code } 已存在
field-region-outside = 行政区划 { $code } 不在您的管辖范围内
field-reject-reason = 不予报销须选择原因
field-report-files = 每份举报最多附 { $max } 个文件
field-report-subject = 请至少填写被举报的定点机构、人员或报销单之一
field-request-id = 应为所补材料要求的编号
field-required = 此项必填
field-roles-empty = 请至少选择一个岗位
field-sanction-via-form = 请通过处罚登记（POST /api/violations/{ $id }/sanction）作出处罚，它会同时完成这一步
field-status-reason = 变更状态须说明原因
field-suspension-from = 暂停或解除协议须填写起始日期
field-to-after-from = 结束日期须晚于开始日期
field-to-before-from = 结束日期不能早于开始日期
field-too-long = 此项过长，最多 { $max } 字节
field-unknown-doc-kind = 没有“{ $kind }”这种材料类型
field-unknown-facility = 没有编码为“{ $code }”的定点机构
field-unknown-region = 没有编码为“{ $code }”的行政区划
field-unknown-role = 没有“{ $value }”这个岗位
field-upload-unexpected = 多余的字段；请只提交 kind、file 及可选的 request_id
field-user-region-unknown = 该用户所在的行政区划不存在
field-username = 用户名应为 1 到 64 个字符，不含空格
field-username-taken = 用户名“{ $name }”已被使用
field-utf8 = 须为 UTF-8 文本
field-yuan = 应为以元为单位的金额（如 1234.50），收到的是“{ $value }”
field-yuan-cents = “{ $value }”：金额不能为负，最多两位小数
field-yuan-too-large = 金额“{ $value }”过大

forbidden-add-documents = 只有参保人本人、经办人或审核人员可以添加材料
forbidden-admin-documents = 系统管理员负责账号管理，不查看报销材料
forbidden-case-stage = 您不能办理案件 { $case } 的当前环节（岗位不符或须由另一人审核）
forbidden-csrf = 页面已过期或表单来源无法确认，请返回刷新后重试
forbidden-facility-region = 定点机构 { $code } 不在您的管辖范围内
forbidden-metrics = /metrics 需要 Authorization: Bearer <metrics_token>（未设置令牌时仅限本机访问）
forbidden-no-queue = 您的岗位没有待办队列
forbidden-page = 您的账号没有权限查看此页面
forbidden-release = 只有领取人或科长可以释放案件
forbidden-roles = 您的岗位无权办理此事项（需要以下岗位之一：{ $roles }）
forbidden-staff-only = 仅限经办机构工作人员

id-birth-date = 身份证号中的出生日期“{ $value }”无效
id-check-digit = 身份证号校验位为“{ $got }”，按 GB 11643 应为“{ $expected }”
id-digits = 身份证号前 17 位须为数字
id-length = 身份证号应为 18 位，收到的是 { $got } 位

media-document = 文件不是 PDF、JPEG 或 PNG（按文件内容判断，而非文件名）
media-json = 请求内容须为 application/json

too-large-json = JSON 请求内容最多 { $limit } 字节
too-large-upload = 文件过大：每个文件最多 { $mib } MB
too-many-reports = 同一地址每小时最多提交 { $max } 份举报，请稍后再试

upload-interrupted = 上传中断，请重试：{ $detail }
