{{/*
Chart name, truncated to the 63 characters Kubernetes names allow.
*/}}
{{- define "status-page.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name, suffixed with the chart name unless it already
contains it.
*/}}
{{- define "status-page.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "status-page.selectorLabels" -}}
app.kubernetes.io/name: {{ include "status-page.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "status-page.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "status-page.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: shop
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "status-page.serviceAccountName" -}}
{{- default (include "status-page.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/*
Image reference, pinned by digest.
*/}}
{{- define "status-page.image" -}}
{{- printf "%s:%s@%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) (required "image.digest is required: images are pinned by digest" .Values.image.digest) }}
{{- end }}
